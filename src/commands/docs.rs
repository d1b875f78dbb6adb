//! `lookout completions SHELL` and `lookout man [COMMAND]`: made from the same clap
//! definitions the program parses its arguments with, so they never disagree with it.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::CommandFactory;

use crate::cli::Cli;

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "lookout", out);
    out.flush().context("writing the completion script")
}

/// Writes the manual page of `command` (`None`: lookout(1); `Some("watch")`:
/// lookout-watch(1)).
pub fn man(command: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let page = page(command)?;
    clap_mangen::Man::new(page)
        .render(out)
        .context("writing the manual page")
}

/// Every page: lookout(1) and one per command, with their file names (`lookout.1`,
/// `lookout-watch.1`, …), for a package to install.
pub fn all_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut pages = Vec::new();
    let mut names = vec![None];
    names.extend(
        Cli::command()
            .get_subcommands()
            .map(|c| Some(c.get_name().to_string())),
    );
    for name in names {
        let mut text = Vec::new();
        man(name.as_deref(), &mut text)?;
        let file = match &name {
            None => "lookout.1".to_string(),
            Some(n) => format!("lookout-{n}.1"),
        };
        pages.push((file, text));
    }
    Ok(pages)
}

/// Writes [`all_pages`] into `dir` (made if missing).
pub fn write_pages(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, text) in all_pages()? {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The clap command a page describes, named as its page is (`lookout-watch`).
fn page(command: Option<&str>) -> Result<clap::Command> {
    let root = Cli::command();
    let Some(name) = command else {
        return Ok(root);
    };
    let Some(sub) = root.find_subcommand(name) else {
        let known: Vec<_> = root.get_subcommands().map(|c| c.get_name()).collect();
        bail!(
            "no command {:?}: the pages are lookout and {}",
            crate::commands::output::terminal_line(name),
            known.join(", ")
        );
    };
    let version = root.get_version().unwrap_or_default().to_string();
    Ok(sub
        .clone()
        .name(format!("lookout-{name}"))
        .bin_name(format!("lookout {name}"))
        .version(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn completions_name_every_command_in_each_shell() {
        let bash = text(|o| completions(clap_complete::Shell::Bash, o));
        assert!(bash.contains("complete -F _lookout"), "{bash:.200}");
        let zsh = text(|o| completions(clap_complete::Shell::Zsh, o));
        assert!(zsh.starts_with("#compdef lookout"), "{zsh:.200}");
        let fish = text(|o| completions(clap_complete::Shell::Fish, o));
        for cmd in Cli::command().get_subcommands() {
            let name = cmd.get_name();
            assert!(
                fish.contains(&format!("-a \"{name}\"")),
                "fish lacks {name}"
            );
            assert!(zsh.contains(&format!("'{name}:")), "zsh lacks {name}");
        }
    }

    #[test]
    fn the_manual_has_a_page_for_lookout_and_each_command() {
        let top = text(|o| man(None, o));
        assert!(top.starts_with(".ie"), "{top:.100}");
        assert!(top.contains(".TH lookout 1"), "{top:.400}");
        assert!(top.contains("snapshot"));
        let watch = text(|o| man(Some("watch"), o));
        assert!(watch.contains(".TH lookout-watch 1"), "{watch:.400}");
        assert!(watch.contains("\\fBlookout watch\\fR"), "{watch:.400}");
        assert!(
            watch.contains("\\-\\-profile"),
            "its options are on its page"
        );
        let err = man(Some("nope"), &mut Vec::new()).unwrap_err().to_string();
        assert!(
            err.contains("no command \"nope\"") && err.contains("snapshot"),
            "{err}"
        );
        let pages = all_pages().unwrap();
        assert_eq!(pages[0].0, "lookout.1");
        assert!(pages.iter().any(|(f, _)| f == "lookout-snapshot.1"));
        assert_eq!(pages.len(), 1 + Cli::command().get_subcommands().count());
        let dir = tempfile::tempdir().unwrap();
        write_pages(&dir.path().join("man1")).unwrap();
        let written = std::fs::read(dir.path().join("man1/lookout-watch.1")).unwrap();
        assert_eq!(written, watch.as_bytes());
    }
}
