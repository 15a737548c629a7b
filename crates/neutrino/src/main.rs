//! The `neutrino` binary: a thin shell over the library crates.

mod agent;
mod bench;
mod bench_agents;
mod bench_l2;
mod bench_sg;
mod cli;
mod identity;
mod run;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    run::init_tracing(cli.debug, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("neutrino: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("neutrino: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
