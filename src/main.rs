//! The `lookout` binary: parse the command line, start logging, build the one tokio
//! runtime, dispatch. Behaviour lives in the library.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use lookout::cli::{Cli, Command};
use lookout::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::output::init_tracing(&cli.log_filter);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!(
                "lookout: {}",
                commands::output::terminal_line(&format!("{err:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

/// `lookout` alone: the console on the kept workspace, or the one already running
/// brought forward.
#[cfg(feature = "gui")]
fn console(rt: &tokio::runtime::Runtime) -> anyhow::Result<u8> {
    if handed_over(&[])? {
        return Ok(0);
    }
    let (settings, also) = commands::settings_and_watch(None, None, Default::default())?;
    let config = lookout::core::session::SessionConfig {
        settings,
        ..Default::default()
    };
    let kept = lookout::core::workspace::default_path();
    let origin = commands::Origin::default();
    commands::watch::run(rt, Vec::new(), also, config, kept, None, Some(origin)).map(|()| 0)
}

/// Hands `links` to this user's running console: true once it took them. A console that
/// refuses them is an error; not reaching one (none runs, or its socket is not safe to
/// use) is said and leaves the caller to open its own.
#[cfg(feature = "gui")]
fn handed_over(links: &[String]) -> anyhow::Result<bool> {
    use lookout::core::instance::{InstanceError, hand_over, socket_path};
    match hand_over(&socket_path(), links) {
        Ok(handed) => Ok(handed),
        Err(e @ InstanceError::Rejected(_)) => Err(e.into()),
        Err(e) => {
            eprintln!(
                "lookout: warning: {}; opening a console of its own",
                commands::output::terminal_line(&e.to_string())
            );
            Ok(false)
        }
    }
}

#[cfg(not(feature = "gui"))]
fn console(_: &tokio::runtime::Runtime) -> anyhow::Result<u8> {
    use clap::CommandFactory;
    Cli::command().print_help()?;
    Ok(2)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_name("lookout-worker")
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Some(Command::Completions(args)) => {
            commands::docs::completions(args.shell, &mut std::io::stdout().lock())?;
            return Ok(0);
        }
        Some(Command::Man(args)) => {
            match &args.out {
                Some(dir) => commands::docs::write_pages(dir)?,
                None => {
                    commands::docs::man(args.command.as_deref(), &mut std::io::stdout().lock())?
                }
            }
            return Ok(0);
        }
        _ => {}
    }
    let rt = runtime()?;
    let Some(command) = cli.command else {
        return console(&rt);
    };
    let done = match command {
        Command::Completions(_) | Command::Man(_) => Ok(()),
        Command::Login(args) => commands::login::login(&args),
        Command::Logout(args) => commands::login::logout(&args),
        Command::Logs(args) if commands::snapshot::is_recording(&args.connect.source) => {
            return commands::logs::print_recording(
                std::path::Path::new(&args.connect.source),
                args.json,
                args.details,
            );
        }
        Command::Logs(args) => {
            let (source, config) = commands::session_setup(&args.connect)?;
            let opts = commands::logs::LogsOptions {
                json: args.json,
                details: args.details,
                no_input: args.no_input,
            };
            return rt.block_on(commands::logs::run(source, config, opts));
        }
        Command::Answer(args) => {
            let (source, config) = commands::session_setup(&args.connect)?;
            let text = if args.text == "-" {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\n', '\r']).to_string()
            } else {
                args.text
            };
            let answer = lookout::core::redact::Secret::new(text);
            rt.block_on(commands::answer::run(
                source,
                config,
                &args.request_id,
                answer,
            ))
        }
        Command::Record(args) => {
            let (source, config) = commands::session_setup(&args.connect)?;
            let duration = args
                .duration
                .as_deref()
                .map(commands::record::parse_moment)
                .transpose()?;
            let log = args.log.as_deref().map(str::parse).transpose()?;
            let done = rt.block_on(commands::record::run(
                source,
                log,
                config,
                &args.output,
                duration,
            ))?;
            eprintln!(
                "lookout: recorded {:.1} s, {}, {} pictures, {} log lines to {}{}",
                done.seconds,
                commands::output::amount(done.bytes),
                done.pictures,
                done.lines,
                commands::output::terminal_line(&args.output.display().to_string()),
                if done.dropped > 0 {
                    format!(" ({} records dropped: the disk fell behind)", done.dropped)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Command::Recordings(args) => {
            let dir = match args.dir {
                Some(dir) => dir,
                None => commands::settings(
                    args.config.as_deref(),
                    args.profile.as_deref(),
                    Default::default(),
                )?
                .recording
                .dir()
                .ok_or_else(|| anyhow::anyhow!("cannot find the data directory: use --dir"))?,
            };
            commands::recordings::run(&dir, args.json)
        }
        Command::Export(args) => {
            let moment =
                |t: Option<String>| t.as_deref().map(commands::record::parse_moment).transpose();
            let opts = commands::export::ExportOptions {
                from: moment(args.from)?,
                to: moment(args.to)?,
                fps: args.fps,
                force: args.force,
                ..Default::default()
            };
            let done = commands::export::run(&args.file, &args.output, &opts)?;
            eprintln!(
                "lookout: exported {:.1} s ({}x{}, {} frames, {} subtitles) to {} in {:.1} s",
                done.seconds,
                done.width,
                done.height,
                done.frames,
                done.cues,
                commands::output::terminal_line(&args.output.display().to_string()),
                done.wall.as_secs_f64(),
            );
            Ok(())
        }
        Command::Snapshot(args) if commands::snapshot::is_recording(&args.connect.source) => {
            let at = args
                .at
                .as_deref()
                .map(commands::record::parse_moment)
                .transpose()?;
            commands::snapshot::from_recording(
                std::path::Path::new(&args.connect.source),
                at,
                &args.output,
            )
        }
        Command::Snapshot(args) => {
            if args.at.is_some() {
                anyhow::bail!(
                    "--at is for a recording; {} is not one",
                    args.connect.source
                );
            }
            let (source, config) = commands::session_setup(&args.connect)?;
            if !(args.timeout.is_finite() && args.timeout > 0.0) {
                anyhow::bail!("--timeout must be a positive number of seconds");
            }
            let timeout = Duration::from_secs_f64(args.timeout.min(86_400.0));
            rt.block_on(commands::snapshot::run(
                source,
                config,
                &args.output,
                timeout,
            ))
        }
        #[cfg(feature = "sim")]
        Command::Serve(args) => {
            let fleet = args.tasks.map(|n| {
                let seed = args.seed.unwrap_or_else(commands::serve::clock_seed);
                (usize::from(n), seed)
            });
            let mut config = lookout::sim::SimConfig {
                addr: args.addr,
                api_key: args.api_key,
                ..Default::default()
            };
            if fleet.is_some() {
                (config.width, config.height) = lookout::sim::fleet::DESKTOP;
            }
            rt.block_on(commands::serve::run(config, fleet))
        }
        #[cfg(feature = "gui")]
        Command::View(args) => {
            let (source, config) = commands::session_setup(&args.connect)?;
            let log = args.log.as_deref().map(str::parse).transpose()?;
            commands::view::run(&rt, source, log, config, args.scale)
        }
        #[cfg(feature = "gui")]
        Command::Watch(args) => {
            let origin = commands::Origin {
                config: args.config,
                profile: args.profile,
                flags: args.settings,
            };
            let (settings, also) = commands::settings_and_watch(
                origin.config.as_deref(),
                origin.profile.as_deref(),
                origin.flags.clone(),
            )?;
            let config = lookout::core::session::SessionConfig {
                settings,
                ..Default::default()
            };
            let kept = lookout::core::workspace::default_path();
            commands::watch::run(&rt, args.sources, also, config, kept, None, Some(origin))
        }
        #[cfg(feature = "gui")]
        Command::Open(args) => {
            // This user's console, when one runs, takes the links.
            if handed_over(&args.links)? {
                return Ok(0);
            }
            let opened = args
                .links
                .iter()
                .map(|link| lookout::core::link::source_of(link))
                .collect::<Result<Vec<_>, _>>()?;
            let (settings, mut also) = commands::settings_and_watch(
                args.config.as_deref(),
                args.profile.as_deref(),
                Default::default(),
            )?;
            let focus = opened.first().cloned();
            also.extend(opened);
            let config = lookout::core::session::SessionConfig {
                settings,
                ..Default::default()
            };
            let kept = lookout::core::workspace::default_path();
            let origin = commands::Origin {
                config: args.config,
                profile: args.profile,
                flags: Default::default(),
            };
            commands::watch::run(&rt, Vec::new(), also, config, kept, focus, Some(origin))
        }
        #[cfg(feature = "gui")]
        Command::Replay(args) => {
            let at = args
                .at
                .as_deref()
                .map(commands::record::parse_moment)
                .transpose()?;
            commands::view::replay(&rt, &args.file, at, args.play, args.scale)
        }
        #[cfg(all(feature = "gui", feature = "sim"))]
        Command::Demo(args) => {
            if let Some(n) = args.tasks {
                let seed = commands::serve::clock_seed();
                return commands::watch::demo(&rt, usize::from(n), seed).map(|()| 0);
            }
            let source = args.source.as_deref().map(str::parse).transpose()?;
            commands::view::demo(&rt, &args.task, source, args.scale)
        }
    };
    done.map(|()| 0)
}
