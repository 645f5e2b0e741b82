//! TSV and CSV cells are all text; a task's declared field types say what
//! each one holds. The reader converts a cell to its declared type as it
//! reads it, so that rendering can be strict: a string where JSON or parquet
//! data should hold a number (`"1"` in a class field) is refused there, not
//! quietly read as the number.

use exc_compiler::ir::Type;
use serde_json::{Map, Value};

/// Converts the cells of `row` named in `types` (the task's fields).
pub(super) fn convert(row: &mut Map<String, Value>, types: &[(String, Type)]) {
    for (name, ty) in types {
        if let Some(v) = row.get_mut(name) {
            if let Value::String(s) = v {
                *v = cell(std::mem::take(s), ty);
            }
        }
    }
}

/// One cell as `ty` reads it; a cell that is not a value of `ty` stays text,
/// and rendering reports it with the field's name.
pub(crate) fn cell(s: String, ty: &Type) -> Value {
    match ty {
        // An empty cell is how TSV and CSV write "absent".
        Type::Optional { of } if s.is_empty() && **of != Type::Text => Value::Null,
        Type::Optional { of } => cell(s, of),
        Type::Int => match s.trim().parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::String(s),
        },
        Type::Float => match s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            Some(n) => Value::Number(n),
            None => Value::String(s),
        },
        Type::Bool => match s.trim() {
            "true" | "True" => Value::Bool(true),
            "false" | "False" => Value::Bool(false),
            _ => Value::String(s),
        },
        // A class cell is one of the names, or the id of one (GLUE's TSV
        // files write labels as `0`/`1`).
        Type::Class { names } if names.contains(&s) => Value::String(s),
        Type::Class { .. } => match s.trim().parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::String(s),
        },
        Type::Text | Type::List { .. } | Type::Record { .. } => Value::String(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(names: &[&str]) -> Type {
        Type::Class {
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn cells_become_their_declared_type() {
        let opt = |t: Type| Type::Optional { of: Box::new(t) };
        assert_eq!(cell("12".into(), &Type::Int), Value::from(12));
        assert_eq!(cell(" 3.5".into(), &Type::Float), Value::from(3.5));
        assert_eq!(cell("x".into(), &Type::Int), Value::from("x"));
        assert_eq!(cell("nan".into(), &Type::Float), Value::from("nan"));
        assert_eq!(cell("True".into(), &Type::Bool), Value::Bool(true));
        assert_eq!(cell("1".into(), &class(&["no", "yes"])), Value::from(1));
        assert_eq!(
            cell("yes".into(), &class(&["no", "yes"])),
            Value::from("yes")
        );
        // A name that spells a number is the name, not an id.
        assert_eq!(cell("1".into(), &class(&["0", "1"])), Value::from("1"));
        assert_eq!(cell("".into(), &opt(Type::Int)), Value::Null);
        assert_eq!(cell("".into(), &opt(Type::Text)), Value::from(""));
        assert_eq!(cell("12345".into(), &Type::Text), Value::from("12345"));
    }
}
