//! Writing settings back to the config file (the settings window): one profile's keys set
//! or removed, and the rest of the file (other profiles, the watch list, comments, order)
//! left as it was. What is written always reads back ([`super::parse`]); it replaces the
//! file in one rename and only its owner can read it.

use std::io::Write as _;
use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

/// A setting's new value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// What to change in one profile of the file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edit {
    pub profile: String,
    /// Make it the file's `default_profile`.
    pub make_default: bool,
    /// Config keys and their new values; `None` removes the key.
    pub set: Vec<(&'static str, Option<Value>)>,
}

/// `text` with `edit` made: the profile's table is created when missing.
pub fn apply(text: &str, edit: &Edit) -> Result<String, String> {
    if edit.profile.trim().is_empty() {
        return Err("a profile needs a name".into());
    }
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        format!("the config file does not parse: {}", e.message())
    })?;
    if edit.make_default {
        doc["default_profile"] = toml_edit::value(edit.profile.as_str());
    }
    let profiles = doc.entry("profiles").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let profiles = profiles
        .as_table_mut()
        .ok_or("`profiles` in the config file is not a table")?;
    let table = profiles
        .entry(&edit.profile)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| {
            format!(
                "profile {:?} in the config file is not a table",
                edit.profile
            )
        })?;
    for (key, value) in &edit.set {
        match value {
            Some(Value::Text(s)) => table[key] = toml_edit::value(s.as_str()),
            Some(Value::Int(n)) => table[key] = toml_edit::value(*n),
            Some(Value::Bool(b)) => table[key] = toml_edit::value(*b),
            None => {
                table.remove(key);
            }
        }
    }
    let out = doc.to_string();
    super::parse(&out).map_err(|e| format!("the edited config would not read back: {e}"))?;
    Ok(out)
}

/// Replaces the file at `path` with `text` at once (a temporary file beside it, renamed
/// over it), readable by its owner only; its folder is made when missing.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# my settings
default_profile = "prod"

[profiles.prod]
# the production API
optexity_base_url = "https://prod.example" # keep
jpeg_quality = 5

[profiles.staging]
optexity_base_url = "https://staging.example"

[[watch]]
source = "optexity:42"
"#;

    #[test]
    fn one_profile_changes_and_the_rest_of_the_file_stays_as_written() {
        let edit = Edit {
            profile: "prod".into(),
            make_default: false,
            set: vec![
                (
                    "optexity_base_url",
                    Some(Value::Text("https://new.example".into())),
                ),
                ("jpeg_quality", None),
                ("record", Some(Value::Bool(false))),
                ("recordings_max_days", Some(Value::Int(7))),
            ],
        };
        let out = apply(FILE, &edit).unwrap();
        assert!(out.starts_with("# my settings\n"), "{out}");
        assert!(out.contains("# the production API\n"), "{out}");
        assert!(
            out.contains("optexity_base_url = \"https://new.example\""),
            "{out}"
        );
        assert!(!out.contains("jpeg_quality"), "{out}");
        assert!(
            out.contains("optexity_base_url = \"https://staging.example\""),
            "{out}"
        );
        assert!(out.contains("[[watch]]\nsource = \"optexity:42\""), "{out}");
        let file = super::super::parse(&out).unwrap();
        let prod = &file.profiles["prod"];
        assert_eq!(
            prod.optexity.base_url.as_deref(),
            Some("https://new.example")
        );
        assert_eq!(prod.recording.record, Some(false));
        assert_eq!(prod.recording.recordings_max_days, Some(7));
        assert_eq!(prod.rfb.quality, None);
        assert_eq!(file.watch, ["optexity:42"]);
    }

    #[test]
    fn a_new_profile_is_made_and_can_become_the_default() {
        let edit = Edit {
            profile: "new one".into(),
            make_default: true,
            set: vec![(
                "chaser_base_url",
                Some(Value::Text("http://127.0.0.1:1".into())),
            )],
        };
        for text in [FILE, ""] {
            let out = apply(text, &edit).unwrap();
            let file = super::super::parse(&out).unwrap();
            assert_eq!(file.default_profile.as_deref(), Some("new one"));
            assert_eq!(
                file.profiles["new one"].chaser.base_url.as_deref(),
                Some("http://127.0.0.1:1")
            );
            assert!(!out.contains("[profiles]\n"), "{out}");
        }
    }

    #[test]
    fn what_would_not_read_back_is_refused_and_nothing_is_echoed() {
        let bad = Edit {
            profile: "p".into(),
            make_default: false,
            set: vec![("jpeg_quality", Some(Value::Text("high".into())))],
        };
        assert!(apply("", &bad).unwrap_err().contains("would not read back"));
        let named = Edit {
            profile: "p".into(),
            ..Edit::default()
        };
        let err = apply("optexity_api_key = \"sekrit\" = 1", &named).unwrap_err();
        assert!(
            err.contains("does not parse") && !err.contains("sekrit"),
            "{err}"
        );
        let unnamed = Edit::default();
        assert!(apply("", &unnamed).is_err());
        let err = apply("profiles = 3", &named).unwrap_err();
        assert!(err.contains("not a table"), "{err}");
    }

    #[test]
    fn the_file_is_replaced_whole_and_only_its_owner_reads_it() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout/config.toml");
        write(&path, "a = 1\n").unwrap();
        write(&path, "b = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b = 2\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "a temporary file was left");
    }
}
