//! The console's workspace: the tasks it watches, their order and pins, and the one shown
//! full-size, kept in `workspace.json` beside the config file so that the console opens as
//! it was left.
//!
//! A source whose text holds a secret (a `token=` value, a key in a URL) is not kept: the
//! file would hold the secret. Such a task is watched for the session only, and the log
//! says so.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The largest workspace file read, in bytes.
const MAX_BYTES: u64 = 1 << 20;

/// What the console keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// The tasks, in the order they were added.
    #[serde(default)]
    pub tasks: Vec<WorkspaceTask>,
    /// The task shown full-size, by its place in `tasks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focused: Option<usize>,
    /// The task lists followed (`waldiez:*`): the tasks they find are not kept one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow: Vec<String>,
}

/// One kept task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceTask {
    /// What was typed to watch it (anything `lookout view` takes).
    pub source: String,
    #[serde(default)]
    pub pinned: bool,
}

/// Why a workspace could not be read or kept.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot read the workspace {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the workspace {path} is over {MAX_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("the workspace {path} is not valid: {detail}")]
    Bad { path: PathBuf, detail: String },
    #[error("cannot keep the workspace in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the workspace is kept: `workspace.json` in the config directory.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lookout").map(|d| d.config_dir().join("workspace.json"))
}

/// Whether `source` can be kept in the file: it holds no secret.
pub fn keepable(source: &str) -> bool {
    crate::core::redact::text(source) == source && crate::core::redact::url(source) == source
}

impl Workspace {
    /// Reads the workspace at `path`; an empty one when there is no file yet.
    pub fn load(path: &Path) -> Result<Workspace, WorkspaceError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Workspace::default()),
            Err(source) => {
                return Err(WorkspaceError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut text = Vec::new();
        file.take(MAX_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|source| WorkspaceError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if text.len() as u64 > MAX_BYTES {
            return Err(WorkspaceError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let mut workspace: Workspace =
            serde_json::from_slice(&text).map_err(|e| WorkspaceError::Bad {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        workspace.tasks.retain(|t| keepable(&t.source));
        workspace.focused = workspace.focused.filter(|&i| i < workspace.tasks.len());
        Ok(workspace)
    }

    /// Writes the workspace to `path` whole (a temporary file renamed over the old one),
    /// leaving out any task whose source holds a secret.
    pub fn save(&self, path: &Path) -> Result<(), WorkspaceError> {
        let mut kept = self.clone();
        let dropped: Vec<usize> = (0..kept.tasks.len())
            .filter(|&i| !keepable(&kept.tasks[i].source))
            .collect();
        if let Some(f) = kept.focused {
            kept.focused =
                (!dropped.contains(&f)).then(|| f - dropped.iter().filter(|&&d| d < f).count());
        }
        kept.tasks.retain(|t| keepable(&t.source));
        let write = |source| WorkspaceError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write)?;
        }
        let json = serde_json::to_vec_pretty(&kept).map_err(|e| write(e.into()))?;
        let part = path.with_extension("json.part");
        std::fs::write(&part, json).map_err(write)?;
        std::fs::rename(&part, path).map_err(write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_round_trips_and_keeps_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout").join("workspace.json");
        assert_eq!(Workspace::load(&path).unwrap(), Workspace::default());
        let task = |s: &str, pinned| WorkspaceTask {
            source: s.into(),
            pinned,
        };
        let workspace = Workspace {
            tasks: vec![
                task("optexity:demo", false),
                task(
                    "rfb+ws://127.0.0.1:5901/websockify?token=sk-secret-123456",
                    false,
                ),
                task("chaser:human", true),
            ],
            focused: Some(2),
            follow: vec!["waldiez:*".into()],
        };
        workspace.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("sk-secret-123456"), "{text}");
        let back = Workspace::load(&path).unwrap();
        assert_eq!(
            back,
            Workspace {
                tasks: vec![task("optexity:demo", false), task("chaser:human", true)],
                focused: Some(1),
                follow: vec!["waldiez:*".into()],
            }
        );
    }

    #[test]
    fn a_bad_workspace_file_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workspace.json");
        std::fs::write(&path, b"{\"tasks\": 3}").unwrap();
        let e = Workspace::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("workspace.json") && e.contains("not valid"),
            "{e}"
        );
        std::fs::write(&path, vec![b' '; (MAX_BYTES + 10) as usize]).unwrap();
        let e = Workspace::load(&path).unwrap_err().to_string();
        assert!(e.contains("over"), "{e}");
        std::fs::write(
            &path,
            br#"{"tasks": [{"source": "chaser:demo"}], "focused": 7}"#,
        )
        .unwrap();
        assert_eq!(Workspace::load(&path).unwrap().focused, None);
    }
}
