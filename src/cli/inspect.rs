use std::process::ExitCode;

use super::args::InspectArgs;
use crate::io::edf::{EdfReader, Inspection};

pub fn inspect(a: InspectArgs) -> Result<ExitCode, String> {
    let reader = EdfReader::open(&a.file).map_err(|e| e.to_string())?;
    let inspection = Inspection::from_reader(&reader).map_err(|e| e.to_string())?;
    if a.json {
        let text = serde_json::to_string_pretty(&inspection).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", inspection.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
