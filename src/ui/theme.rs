//! Themes (helix style): a `[palette]` of named colours and semantic roles
//! (`call.ringing`, `status.registered`, ...) with `inherits`. The shipped
//! themes are embedded; `themes/<name>.toml` in the config dir adds or
//! replaces one. `NO_COLOR` keeps only bold/reverse/underline. Views ask for
//! roles, never for colours.

use ratatui::style::{Color, Modifier, Style};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The themes shipped in the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Every role a view may ask for.
pub const ROLES: &[&str] = &[
    "ui.text",
    "ui.dim",
    "ui.border",
    "ui.title",
    "ui.selected",
    "ui.tab",
    "ui.tab.active",
    "ui.key",
    "status",
    "status.registered",
    "status.unregistered",
    "status.dnd",
    "status.forward",
    "status.mwi",
    "call",
    "call.ringing",
    "call.dialing",
    "call.alerting",
    "call.active",
    "call.held",
    "call.transferring",
    "call.ended",
    "call.badge",
    "call.stats",
    "conf",
    "conf.level",
    "conf.split",
    "blf",
    "blf.idle",
    "blf.ringing",
    "blf.busy",
    "blf.offline",
    "blf.remote",
    "history.missed",
    "history.in",
    "history.out",
    "ladder.time",
    "ladder.in",
    "ladder.out",
    "ladder.peer",
    "message.info",
    "message.error",
    "input.prompt",
    "input.text",
];

/// A theme that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ThemeError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A resolved theme: one style per role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: HashMap<String, Style>,
    no_color: bool,
}

/// A parsed but unresolved theme file.
struct RawTheme {
    file: PathBuf,
    text: String,
    inherits: Option<String>,
    palette: HashMap<String, String>,
    roles: HashMap<String, toml::Value>,
}

fn line_of_key(text: &str, key: &str) -> usize {
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(&quoted)
                || t.starts_with(&format!("{key} "))
                || t.starts_with(&format!("{key}="))
        })
        .map_or(1, |i| i + 1)
}

impl RawTheme {
    fn parse(text: &str, file: &Path) -> Result<RawTheme, ThemeError> {
        let err = |line: usize, message: String| ThemeError {
            file: file.to_path_buf(),
            line,
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map_or(1, |t| t.matches('\n').count() + 1);
            err(line, e.message().trim().to_string())
        })?;
        let mut raw = RawTheme {
            file: file.to_path_buf(),
            text: text.to_string(),
            inherits: None,
            palette: HashMap::new(),
            roles: HashMap::new(),
        };
        for (key, value) in table {
            match key.as_str() {
                "inherits" => match value {
                    toml::Value::String(s) => raw.inherits = Some(s),
                    _ => {
                        return Err(err(
                            line_of_key(text, &key),
                            "`inherits` must be a theme name".into(),
                        ))
                    }
                },
                "palette" => {
                    let toml::Value::Table(t) = value else {
                        return Err(err(
                            line_of_key(text, &key),
                            "`palette` must be a table".into(),
                        ));
                    };
                    for (name, v) in t {
                        let toml::Value::String(c) = v else {
                            return Err(err(
                                line_of_key(text, &name),
                                format!("palette `{name}` must be a colour string"),
                            ));
                        };
                        raw.palette.insert(name, c);
                    }
                }
                role if ROLES.contains(&role) => {
                    raw.roles.insert(key, value);
                }
                _ => {
                    return Err(err(
                        line_of_key(text, &key),
                        format!("unknown role `{key}` (known: {})", ROLES.join(", ")),
                    ))
                }
            }
        }
        Ok(raw)
    }
}

fn parse_color(name: &str, palette: &HashMap<String, String>) -> Result<Color, String> {
    let resolved = palette.get(name).map_or(name, String::as_str);
    Color::from_str(resolved).map_err(|_| {
        format!("`{name}` is neither a palette entry nor a colour (a name like `lightred`, `#rrggbb` or 0-255)")
    })
}

fn parse_modifier(name: &str) -> Result<Modifier, String> {
    Ok(match name {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "slow_blink" => Modifier::SLOW_BLINK,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        _ => return Err(format!("unknown modifier `{name}` (bold, dim, italic, underlined, slow_blink, reversed, crossed_out)")),
    })
}

fn resolve_role(value: &toml::Value, palette: &HashMap<String, String>) -> Result<Style, String> {
    match value {
        toml::Value::String(c) => Ok(Style::default().fg(parse_color(c, palette)?)),
        toml::Value::Table(t) => {
            let mut style = Style::default();
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("fg", toml::Value::String(c)) => style = style.fg(parse_color(c, palette)?),
                    ("bg", toml::Value::String(c)) => style = style.bg(parse_color(c, palette)?),
                    ("modifiers", toml::Value::Array(items)) => {
                        for m in items {
                            let name = m.as_str().ok_or("modifiers must be strings")?;
                            style = style.add_modifier(parse_modifier(name)?);
                        }
                    }
                    _ => return Err(format!("unknown or mistyped key `{k}` (fg, bg, modifiers)")),
                }
            }
            Ok(style)
        }
        _ => Err("a role is a colour string or a table { fg, bg, modifiers }".into()),
    }
}

impl Theme {
    /// Loads theme `name`: a file in `user_dir` (`<name>.toml`) first, else a
    /// built-in one; follows `inherits` (at most 8 levels).
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
        let mut chain = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(n) = next.take() {
            if chain.len() >= 8 {
                return Err(ThemeError {
                    file: PathBuf::from(format!("{n}.toml")),
                    line: 1,
                    message: "`inherits` goes deeper than 8 themes (a loop?)".into(),
                });
            }
            let raw = Theme::find(&n, user_dir, chain.last())?;
            next = raw.inherits.clone();
            chain.push(raw);
        }
        let mut palette = HashMap::new();
        let mut roles: HashMap<String, (toml::Value, usize)> = HashMap::new();
        for (i, raw) in chain.iter().enumerate().rev() {
            palette.extend(raw.palette.clone());
            for (k, v) in &raw.roles {
                roles.insert(k.clone(), (v.clone(), i));
            }
        }
        let mut styles = HashMap::new();
        for (role, (value, i)) in roles {
            let raw = &chain[i];
            let style = resolve_role(&value, &palette).map_err(|message| ThemeError {
                file: raw.file.clone(),
                line: line_of_key(&raw.text, &role),
                message: format!("role `{role}`: {message}"),
            })?;
            styles.insert(role, style);
        }
        Ok(Theme {
            name: name.to_string(),
            styles,
            no_color,
        })
    }

    fn find(
        name: &str,
        user_dir: Option<&Path>,
        child: Option<&RawTheme>,
    ) -> Result<RawTheme, ThemeError> {
        if let Some(dir) = user_dir {
            let path = dir.join(format!("{name}.toml"));
            // A user theme may inherit the built-in one of the same name.
            let is_self = child.is_some_and(|c| c.file == path);
            if path.is_file() && !is_self {
                let text = std::fs::read_to_string(&path).map_err(|e| ThemeError {
                    file: path.clone(),
                    line: 1,
                    message: e.to_string(),
                })?;
                return RawTheme::parse(&text, &path);
            }
        }
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => RawTheme::parse(text, &PathBuf::from(format!("themes/{n}.toml"))),
            None => Err(ThemeError {
                file: child.map_or_else(|| PathBuf::from("config.toml"), |c| c.file.clone()),
                line: child.map_or(1, |c| line_of_key(&c.text, "inherits")),
                message: format!(
                    "no theme `{name}` (built in: {})",
                    BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// The built-in default theme.
    pub fn fallback(no_color: bool) -> Theme {
        Theme::load("default", None, no_color).unwrap_or(Theme {
            name: "default".into(),
            styles: HashMap::new(),
            no_color,
        })
    }

    /// The style of a role: the role, else its parents (`a.b.c` → `a.b` → `a`),
    /// else `ui.text`. Without colour only the modifiers remain.
    pub fn style(&self, role: &str) -> Style {
        let mut r = role;
        let style = loop {
            if let Some(s) = self.styles.get(r) {
                break *s;
            }
            match r.rfind('.') {
                Some(i) => r = &r[..i],
                None => break self.styles.get("ui.text").copied().unwrap_or_default(),
            }
        };
        if self.no_color {
            Style::default().add_modifier(style.add_modifier)
        } else {
            style
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_load_and_set_every_role_directly_or_by_parent() {
        for (name, _) in BUILTIN {
            let t = Theme::load(name, None, false).unwrap();
            assert_eq!(t.name, *name);
            assert!(t.styles.contains_key("ui.text"), "{name}");
            assert!(t.styles.contains_key("call.ringing"), "{name}");
        }
    }

    #[test]
    fn builtin_themes_use_only_the_16_ansi_colours() {
        for (name, _) in BUILTIN {
            let t = Theme::load(name, None, false).unwrap();
            for (role, s) in &t.styles {
                for c in [s.fg, s.bg].into_iter().flatten() {
                    assert!(
                        !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                        "{name}: {role} uses {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn light_inherits_roles_with_its_own_palette() {
        let dark = Theme::load("default", None, false).unwrap();
        let light = Theme::load("light", None, false).unwrap();
        assert_eq!(dark.style("ui.text").fg, Some(Color::White));
        assert_eq!(light.style("ui.text").fg, Some(Color::Black));
        assert!(light
            .style("call.ringing")
            .add_modifier
            .contains(Modifier::REVERSED));
    }

    #[test]
    fn roles_fall_back_to_parents() {
        let t = Theme::load("default", None, false).unwrap();
        assert_eq!(t.style("call.nonexistent"), t.style("call"));
        assert_eq!(t.style("nothing.at.all"), t.style("ui.text"));
    }

    #[test]
    fn no_color_keeps_only_modifiers() {
        let t = Theme::load("default", None, true).unwrap();
        let s = t.style("call.ringing");
        assert_eq!(s.fg, None);
        assert_eq!(s.bg, None);
        assert!(s.add_modifier.contains(Modifier::REVERSED | Modifier::BOLD));
    }

    #[test]
    fn user_theme_overrides_and_inherits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "inherits = \"light\"\n\"call.held\" = \"#ff8800\"\n[palette]\nbad = \"magenta\"\n",
        )
        .unwrap();
        let t = Theme::load("mine", Some(dir.path()), false).unwrap();
        assert_eq!(t.style("call.held").fg, Some(Color::Rgb(0xff, 0x88, 0)));
        assert_eq!(t.style("message.error").fg, Some(Color::Magenta));
        assert_eq!(t.style("ui.text").fg, Some(Color::Black));
        // a user file named like a built-in one replaces it and may inherit it
        std::fs::write(
            dir.path().join("default.toml"),
            "inherits = \"default\"\n\"ui.text\" = \"green\"\n",
        )
        .unwrap();
        let t = Theme::load("default", Some(dir.path()), false).unwrap();
        assert_eq!(t.style("ui.text").fg, Some(Color::Green));
        assert_eq!(t.style("call.active").fg, Some(Color::LightGreen));
    }

    #[test]
    fn bad_themes_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "\"ui.text\" = \"white\"\n\"call.ringng\" = \"red\"\n",
                2,
                "call.ringng",
            ),
            (
                "\"ui.text\" = \"white\"\n\n\"call.held\" = \"notacolour\"\n",
                3,
                "notacolour",
            ),
            (
                "\"call.held\" = { fg = \"red\", modifiers = [\"sparkly\"] }\n",
                1,
                "sparkly",
            ),
            ("inherits = \"nope\"\n", 1, "no theme `nope`"),
            ("\"ui.text\" = \n", 1, ""),
        ];
        for (text, line, needle) in cases {
            let path = dir.path().join("bad.toml");
            std::fs::write(&path, text).unwrap();
            let err = Theme::load("bad", Some(dir.path()), false).unwrap_err();
            assert_eq!(err.file, path, "{err}");
            assert_eq!(err.line, line, "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        assert!(Theme::load("missing", None, false).is_err());
    }
}
