//! `sovedge shim`: the per-container process of the embedded runtime.
//! Started by the runtime, not by users, so hidden from help.

use std::path::PathBuf;

use clap::Subcommand;

use crate::runtime::shim;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: ShimCommand,
}

#[derive(Subcommand)]
enum ShimCommand {
    /// Create and start a container, then serve it until it exits.
    Start {
        #[arg(long)]
        run_dir: PathBuf,
        #[arg(long)]
        state_dir: PathBuf,
        #[arg(long)]
        id: String,
    },
    /// Run a process in a running container; fd 0 is the framed stream.
    Exec {
        #[arg(long)]
        run_dir: PathBuf,
        #[arg(long)]
        state_dir: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(long)]
        tty: bool,
        #[arg(long)]
        stdin: bool,
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        ShimCommand::Start {
            run_dir,
            state_dir,
            id,
        } => shim::run_start(shim::StartArgs {
            run_dir,
            state_dir,
            id,
        }),
        ShimCommand::Exec {
            run_dir,
            state_dir,
            id,
            tty,
            stdin,
            cmd,
        } => shim::run_exec(shim::ExecArgs {
            run_dir,
            state_dir,
            id,
            tty,
            stdin,
            cmd,
        }),
    }
}
