//! Built-in themes, declared in `themes/*.toml` and compiled into the binary.

use std::sync::LazyLock;

use serde::Deserialize;

/// A built-in theme as declared in its TOML file.
#[derive(Debug, Deserialize)]
pub struct Builtin {
    pub name: String,
    pub font: String,
    /// Inline SVG mark used when a tenant uploaded no logo; ours, so it carries no script.
    pub logo: String,
    pub colors: Colors,
}

/// The colour set of a built-in theme; tenants override the first four.
#[derive(Debug, Deserialize)]
pub struct Colors {
    pub background: String,
    pub surface: String,
    pub text: String,
    pub muted: String,
    pub border: String,
    pub input_border: String,
    pub primary: String,
    pub primary_text: String,
    pub accent: String,
    pub danger: String,
    pub danger_surface: String,
}

const SOURCES: &[&str] = &[
    include_str!("../../../themes/light.toml"),
    include_str!("../../../themes/dark.toml"),
];

/// Every built-in theme; the first is the default.
pub static BUILTINS: LazyLock<Vec<Builtin>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter_map(|src| match toml::from_str::<Builtin>(src) {
            Ok(theme) => Some(theme),
            Err(err) => {
                tracing::error!(%err, "a built-in theme file does not parse");
                None
            }
        })
        .collect()
});

/// The built-in theme called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|t| t.name == name)
}

/// The default built-in theme (`light`).
pub fn default_theme() -> &'static Builtin {
    // The files are part of the binary and checked by a unit test, so the list is never empty.
    &BUILTINS[0]
}

/// Names of the built-in themes, for error messages and docs.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|t| t.name.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_files_parse() {
        assert_eq!(BUILTINS.len(), SOURCES.len());
        assert_eq!(names(), ["light", "dark"]);
        assert!(find("dark").is_some_and(|t| t.colors.background.starts_with('#')));
    }
}
