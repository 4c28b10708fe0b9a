//! sovedge: one binary that turns a small box into a Kubernetes-compatible
//! edge cloud.

mod admission;
mod api;
#[allow(dead_code)] // Users arrive with CRD validation rules and admission policies.
mod cel;
mod cli;
#[allow(dead_code)] // Pod workers are wired into the server with the node side of the kubelet.
mod kubelet;
mod pki;
mod registry;
#[allow(dead_code)] // Users arrive with apply, CRDs and the OpenAPI documents.
mod schema;
mod store;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
