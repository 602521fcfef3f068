//! The arguments of one request as a command's build function reads them:
//! each value checked by its [`Arg`]'s kind when read, its default filled in,
//! and converted to the type the build function asks for.

use super::spec::{Arg, Checked, Presence, Spec};
use super::CommandError;
use serde_json::{Map, Value};

/// A request's arguments, read through the command's spec.
pub struct Args<'a> {
    spec: &'static Spec,
    obj: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    pub(super) fn new(spec: &'static Spec, obj: &'a Map<String, Value>) -> Self {
        Self { spec, obj }
    }

    /// The argument `name`, checked by its kind. Ask for `T` when it must be
    /// there (its default counts), for `Option<T>` when it may be absent:
    /// `String` for text and choices, `u64`, `bool`, `Vec<String>` for a list.
    pub fn get<T: FromArg>(&self, name: &str) -> Result<T, CommandError> {
        let cmd = self.spec.name;
        let arg: &Arg = self.spec.arg(name).ok_or_else(|| {
            CommandError::new(
                "internal",
                format!("`{cmd}` reads `{name}`, which its spec does not declare"),
            )
        })?;
        let default = match arg.presence {
            Presence::Default(word) => Some(Value::String(word.to_string())),
            _ => None,
        };
        let value = match self.obj.get(name) {
            None | Some(Value::Null) => default.as_ref(),
            given => given,
        };
        let checked = value.map(|v| arg.check(cmd, v)).transpose()?;
        let needs = || CommandError::bad_argument(format!("`{cmd}` needs `{name}`"));
        if checked.is_none() && arg.presence == Presence::Required {
            return Err(needs());
        }
        T::from_checked(checked).map_err(|wrong| match wrong {
            Wrong::Missing => needs(),
            Wrong::Kind => CommandError::new(
                "internal",
                format!("`{cmd}` reads `{name}` as another kind than its spec declares"),
            ),
        })
    }
}

/// Why a checked value does not fit the type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrong {
    /// Absent, and the type has no room for that.
    Missing,
    /// The spec declares another kind (a bug in the spec or its build).
    Kind,
}

/// A type a build function can read an argument as.
pub trait FromArg: Sized {
    fn from_checked(value: Option<Checked>) -> Result<Self, Wrong>;
}

macro_rules! from_arg {
    ($($t:ty => $kind:ident),* $(,)?) => {$(
        impl FromArg for $t {
            fn from_checked(value: Option<Checked>) -> Result<Self, Wrong> {
                match value {
                    Some(Checked::$kind(v)) => Ok(v),
                    Some(_) => Err(Wrong::Kind),
                    None => Err(Wrong::Missing),
                }
            }
        }
        impl FromArg for Option<$t> {
            fn from_checked(value: Option<Checked>) -> Result<Self, Wrong> {
                match value {
                    Some(Checked::$kind(v)) => Ok(Some(v)),
                    Some(_) => Err(Wrong::Kind),
                    None => Ok(None),
                }
            }
        }
    )*};
}

from_arg! {
    String => Text,
    u64 => Whole,
    bool => Flag,
    Vec<String> => List,
}
