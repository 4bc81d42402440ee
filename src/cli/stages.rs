use std::process::ExitCode;

use super::args::StagesArgs;
use crate::stages::{KINDS, kind_info};

pub fn stages(a: StagesArgs) -> Result<ExitCode, String> {
    match a.kind {
        None => {
            println!("Stage kinds (`eegclean stages KIND` for parameters and an example):\n");
            for k in KINDS {
                let first = k.summary.split(". ").next().unwrap_or(k.summary);
                println!("  {:<14} {}", k.kind, first.trim_end_matches('.'));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(kind) => {
            let Some(k) = kind_info(&kind) else {
                let hint = crate::spec::nearest(&kind, KINDS.iter().map(|k| k.kind))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(format!("no stage kind `{kind}`{hint}"));
            };
            println!("{}\n", k.kind);
            println!("{}\n", textwrap(k.summary, 88));
            let inputs: Vec<String> = k.inputs.iter().map(|i| i.to_string()).collect();
            println!(
                "after: {}",
                if inputs.is_empty() {
                    "(none: reads the recording)".to_string()
                } else {
                    inputs.join(", ")
                }
            );
            println!("produces: {}\n\nexample:\nstages:", k.output);
            for line in k.example.lines() {
                println!("  {line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn textwrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line + word.len() + 1 > width && line > 0 {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}
