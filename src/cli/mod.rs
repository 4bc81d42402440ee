//! The face: arguments, progress, exit codes. No science here.

mod args;
mod demo;
mod inspect;
mod run;
mod stages;

pub use args::Cli;

use std::process::ExitCode;

/// Exit codes: 0 everything succeeded; 1 some recordings failed (the others were
/// processed); 2 the command could not start (bad pipeline file, bad arguments, no input).
pub const EXIT_FAILED_RECORDINGS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

pub fn main_with(cli: Cli) -> ExitCode {
    let result = match cli.command {
        args::Command::Run(a) => run::run(a),
        args::Command::Validate(a) => run::validate(a),
        args::Command::Plan(a) => run::plan(a),
        args::Command::Inspect(a) => inspect::inspect(a),
        args::Command::Demo(a) => demo::demo(a),
        args::Command::Stages(a) => stages::stages(a),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
