//! `exc bench train` as a stand-alone binary (same arguments), so the GPU
//! script can carry one small executable: `bench_train --model t5.1.1-base ...`.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "bench_train",
    about = "Time real T5 pre-training steps (exc bench train)"
)]
struct Cli {
    #[command(flatten)]
    args: exc_runtime::bench::TrainArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match exc_runtime::guard::libtorch(|| exc_runtime::bench::run(&cli.args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
