//! c10d through the shim: two Gloo ranks (threads of this test, each with
//! its own connection) on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use exc_torchext::dist::{backends, Group, GroupOptions, Overlap};
use tch::{Device, Kind, Tensor};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn opts(port: u16, rank: usize, world: usize, secs: u64) -> GroupOptions {
    GroupOptions {
        backend: "gloo".into(),
        host: "127.0.0.1".into(),
        port,
        serve: rank == 0,
        prefix: "test/".into(),
        rank,
        world,
        timeout: Duration::from_secs(secs),
    }
}

/// Runs `f(group)` on ranks 0 and 1 and returns their results in rank order.
fn two_ranks<R: Send + 'static>(f: fn(Group) -> R) -> Vec<R> {
    let port = free_port();
    let hs: Vec<_> = (0..2)
        .map(|r| std::thread::spawn(move || f(Group::new(&opts(port, r, 2, 30)).unwrap())))
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn gloo_is_built_in() {
    assert!(backends().contains(&"gloo".to_string()), "{:?}", backends());
}

#[test]
fn allreduce_sums_every_tensor_in_buckets() {
    let out = two_ranks(|g| {
        let r = g.rank() as f64 + 1.0;
        // Three float tensors (one not contiguous) and a double one: a
        // 64-byte cap puts them in several buckets, the kind change in another.
        let ts = vec![
            Tensor::full([3], r, (Kind::Float, Device::Cpu)),
            Tensor::full([4, 2], r * 10.0, (Kind::Float, Device::Cpu)).transpose(0, 1),
            Tensor::arange(20, (Kind::Float, Device::Cpu)) * r,
            Tensor::full([2], r, (Kind::Double, Device::Cpu)),
        ];
        let red = g.allreduce_sum(&ts, 64).unwrap();
        let vals: Vec<Vec<f64>> = ts
            .iter()
            .map(|t| Vec::<f64>::try_from(t.reshape([-1]).to_kind(Kind::Double)).unwrap())
            .collect();
        (red, vals)
    });
    for (red, vals) in &out {
        assert_eq!(vals[0], vec![3.0; 3]);
        assert_eq!(vals[1], vec![30.0; 8]);
        let want: Vec<f64> = (0..20).map(|i| i as f64 * 3.0).collect();
        assert_eq!(vals[2], want);
        assert_eq!(vals[3], vec![3.0; 2]);
        // [3 + 8 floats] [20 floats, over the cap with them] [2 doubles]
        assert_eq!(red.buckets, 3, "{red:?}");
        assert_eq!(red.bytes, (3 + 8 + 20) * 4 + 2 * 8);
    }
}

#[test]
fn broadcast_and_gather() {
    let out = two_ranks(|g| {
        let t = Tensor::full([5], g.rank() as f64 + 7.0, (Kind::Float, Device::Cpu));
        g.broadcast(std::slice::from_ref(&t), 0).unwrap();
        let got = g
            .all_gather_bytes("t", format!("rank {}", g.rank()).as_bytes())
            .unwrap();
        g.barrier().unwrap();
        (Vec::<f32>::try_from(t).unwrap(), got)
    });
    for (t, got) in out {
        assert_eq!(t, vec![7.0; 5]);
        assert_eq!(got, vec![b"rank 0".to_vec(), b"rank 1".to_vec()]);
    }
}

#[test]
fn a_missing_peer_is_an_error_within_the_timeout() {
    let t0 = Instant::now();
    let e = Group::new(&opts(free_port(), 0, 2, 3))
        .err()
        .expect("no peer came");
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert!(!e.to_string().is_empty());
}

#[test]
fn nobody_at_the_port_is_an_error_within_the_timeout() {
    let t0 = Instant::now();
    let e = Group::new(&opts(free_port(), 1, 2, 3))
        .err()
        .expect("nobody serves");
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert!(!e.to_string().is_empty());
}

#[test]
fn overlapped_allreduce_sums_gradients_as_backward_makes_them() {
    let out = two_ranks(|g| {
        let r = g.rank() as f64 + 1.0;
        let opt = (Kind::Float, Device::Cpu);
        // Three used parameters and one no loss reaches (its gradient is a
        // zero on every rank, so its sum is zero too).
        let ps: Vec<Tensor> = [4i64, 6, 8, 3]
            .iter()
            .map(|&n| Tensor::zeros([n], opt).set_requires_grad(true))
            .collect();
        // 16-byte buckets: one parameter each, so buckets launch during backward.
        let ov = Overlap::new(&g, &ps, 16).unwrap();
        let mut seen = Vec::new();
        for step in 0..2 {
            for p in &ps {
                let mut p = p.shallow_clone();
                p.zero_grad();
            }
            let loss = ps[..3]
                .iter()
                .enumerate()
                .map(|(i, p)| (p * (r * (i as f64 + 1.0))).sum(Kind::Float))
                .fold(Tensor::zeros([], opt), |a, b| a + b);
            ov.arm().unwrap();
            loss.backward();
            let extra = Tensor::full([2], r, (Kind::Double, Device::Cpu));
            let done = ov.finish(std::slice::from_ref(&extra)).unwrap();
            let grads: Vec<Vec<f32>> = ps
                .iter()
                .map(|p| Vec::<f32>::try_from(p.grad()).unwrap())
                .collect();
            seen.push((done, grads, Vec::<f64>::try_from(&extra).unwrap()));
            if step == 0 {
                ov.relayout_from_rank0().unwrap();
            }
        }
        seen
    });
    for seen in out {
        for (step, (done, grads, extra)) in seen.into_iter().enumerate() {
            // Each gradient summed over ranks: (1 + 2) x (i + 1).
            assert_eq!(grads[0], vec![3.0; 4]);
            assert_eq!(grads[1], vec![6.0; 6]);
            assert_eq!(grads[2], vec![9.0; 8]);
            assert_eq!(grads[3], vec![0.0; 3]);
            assert_eq!(extra, vec![3.0, 3.0]);
            // Step 0 buckets in reverse order, and the unused parameter's
            // bucket (first) never fills, so nothing launches before the
            // end; re-bucketed by the order rank 0 saw, the used ones go first.
            if step == 0 {
                assert_eq!(done.during_backward, 0, "{done:?}");
            } else {
                assert_eq!(done.during_backward, 3, "{done:?}");
            }
            assert_eq!(done.bytes, (4 + 6 + 8 + 3) * 4 + 2 * 8);
        }
    }
}
