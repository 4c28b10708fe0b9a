//! Command-line interface: one short file per subcommand.

mod image;
mod kubeconfig;
mod server;
mod shim;
mod version;

use clap::{Parser, Subcommand};

/// A single-binary edge cloud that speaks Kubernetes.
#[derive(Parser)]
#[command(name = "sovedge", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: store, Kubernetes API and everything behind it.
    Server(Box<server::Args>),
    /// Print the admin kubeconfig of a server's data directory.
    Kubeconfig(kubeconfig::Args),
    /// Import and list container images of a data directory.
    Image(image::Args),
    /// Print the version of sovedge and of the Kubernetes API it serves.
    Version,
    /// Container shim of the embedded runtime (started by the runtime).
    #[command(hide = true)]
    Shim(shim::Args),
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Server(args) => server::run(*args),
        Command::Kubeconfig(args) => kubeconfig::run(args),
        Command::Image(args) => image::run(args),
        Command::Version => version::run(),
        Command::Shim(args) => shim::run(args),
    }
}
