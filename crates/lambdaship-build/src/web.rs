//! The files that make a web function (`web = "..."`) start its app behind the adapter:
//!
//! - `lambdaship-web` in the task root, the function's `Handler`: runs the web command, its
//!   first word resolved to what the dependencies install (a console script such as
//!   `gunicorn` or `uvicorn` is called through its entry point, since the `bin/` scripts
//!   uv writes name the build machine's interpreter);
//! - `lambdaship-exec-wrapper` at the layer root (`/opt`), the `AWS_LAMBDA_EXEC_WRAPPER`:
//!   puts the task root and the layer's packages on the import path, as the managed runtime's
//!   bootstrap does, then runs the handler script instead of the runtime client;
//! - `extensions/lambdaship-adapter` at the layer root: the adapter, an external extension.

use std::collections::BTreeMap;
use std::io::Read;

use lambdaship_project::{FunctionSpec, WEB_HANDLER, WebApp};

use crate::archive::{ArchiveEntry, CompressedFile};
use crate::error::BuildError;
use crate::platform::layer_site_packages;

/// Name of the exec wrapper at the layer root.
pub(crate) const EXEC_WRAPPER_FILE: &str = "lambdaship-exec-wrapper";

/// Starts the web app's Python process: the import path set up with `.pth` files processed
/// (`-S` keeps this machine's site-packages out locally, as the runtime client's start does;
/// on Lambda the runtime's own come last, as its bootstrap orders them), then the entry point, module or file the command names. argv: the kind
/// (`entry`, `module`, `file`), its target, the program name, then the command's arguments.
const LAUNCHER: &str = r#"import os, runpy, site, sys
for path in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    if path:
        site.addsitedir(path)
if sys.prefix == "/var/lang":
    # On Lambda: the runtime's own packages (boto3) after the function's, as its bootstrap
    # orders them. Locally -S keeps this machine's site-packages out.
    import sysconfig
    site.addsitedir(sysconfig.get_paths()["purelib"])
kind, target, name = sys.argv[1:4]
sys.argv = [name] + sys.argv[4:]
if kind == "entry":
    module, _, attribute = target.partition(":")
    function = __import__(module, fromlist=["_"])
    for part in attribute.split("."):
        function = getattr(function, part)
    sys.exit(function())
elif kind == "module":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    runpy.run_path(target, run_name="__main__")
"#;

/// The console scripts the packages declare: name → `module:attribute`.
pub(crate) fn console_scripts(packages: &[ArchiveEntry]) -> BTreeMap<String, String> {
    let mut scripts = BTreeMap::new();
    for entry in packages
        .iter()
        .filter(|e| e.path.ends_with(".dist-info/entry_points.txt"))
    {
        let Some(text) = entry_text(&entry.file) else {
            continue;
        };
        let mut in_console_scripts = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_console_scripts = line == "[console_scripts]";
            } else if in_console_scripts && let Some((name, target)) = line.split_once('=') {
                // `name = module:attr [extra]`: extras do not change what runs.
                let target = target.split('[').next().unwrap_or_default().trim();
                scripts.insert(name.trim().to_string(), target.to_string());
            }
        }
    }
    scripts
}

fn entry_text(file: &CompressedFile) -> Option<String> {
    let data = file.data.as_slice();
    if !file.deflated {
        return String::from_utf8(data.to_vec()).ok();
    }
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(data)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The `lambdaship-web` script for `web`, or why its command cannot run on Lambda.
pub(crate) fn handler_script(
    function: &FunctionSpec,
    web: &WebApp,
    scripts: &BTreeMap<String, String>,
    config: &str,
) -> Result<String, BuildError> {
    let fail = |message: String| BuildError::WebCommand {
        function: function.name.clone(),
        command: web.command.clone(),
        message,
        config: config.to_string(),
    };
    let program = &web.words[0];
    let args = &web.words[1..];
    let (kind, target, name, rest): (&str, String, String, &[String]) = if is_python(program) {
        match args {
            [flag, module, rest @ ..] if flag == "-m" => {
                ("module", module.clone(), module.clone(), rest)
            }
            [file, rest @ ..] if !file.starts_with('-') => {
                ("file", file.clone(), file.clone(), rest)
            }
            _ => {
                return Err(fail(format!(
                    "`{program}` must be followed by `-m MODULE` or a script file; other interpreter options are not supported"
                )));
            }
        }
    } else if let Some(target) = scripts.get(program) {
        ("entry", target.clone(), program.clone(), args)
    } else if program.contains('/') {
        // A program of the project's own (e.g. ./start.sh), run as it is.
        return Ok(script(&format!(
            "exec {}",
            quote_all(std::iter::once(program).chain(args))
        )));
    } else {
        return Err(fail(format!(
            "`{program}` is not a console script of the function's dependencies{}: add the package that provides it (e.g. `uv add {program}`), or write `python -m MODULE ...`",
            if scripts.is_empty() {
                String::new()
            } else {
                format!(
                    " (they provide {})",
                    scripts.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        )));
    };
    let launch = quote_all(
        [
            "python3",
            "-S",
            "-c",
            LAUNCHER,
            kind,
            target.as_str(),
            name.as_str(),
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
        .iter()
        .chain(rest),
    );
    Ok(script(&format!("exec {launch}")))
}

fn script(exec: &str) -> String {
    format!(
        "#!/bin/sh\n# Made by lambdaship from `web` in [tool.lambdaship]: the function's handler, run by\n# {EXEC_WRAPPER_FILE}. It starts the web app; lambdaship's adapter sends it the events.\ncd \"${{LAMBDA_TASK_ROOT:-/var/task}}\" || exit 1\n{exec}\n"
    )
}

/// The exec wrapper for `function`'s runtime.
pub(crate) fn exec_wrapper(function: &FunctionSpec) -> String {
    let site = layer_site_packages(function.runtime);
    let site = site.trim_end_matches('/');
    format!(
        "#!/bin/sh\n# Made by lambdaship for web functions: AWS_LAMBDA_EXEC_WRAPPER. It runs the handler\n# script ({WEB_HANDLER}) in place of the runtime client, with the import path the\n# runtime's bootstrap would set up.\nopt=$(cd \"$(dirname \"$0\")\" && pwd)\ntask=\"${{LAMBDA_TASK_ROOT:-/var/task}}\"\nexport PYTHONPATH=\"$task:$opt/{site}:$opt/python${{PYTHONPATH:+:$PYTHONPATH}}\"\nexec \"$task/${{_HANDLER:-{WEB_HANDLER}}}\"\n"
    )
}

fn is_python(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    name == "python"
        || name
            .strip_prefix("python3")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

fn quote_all<'a>(words: impl Iterator<Item = &'a String>) -> String {
    words
        .map(|word| {
            // try_quote only fails on a NUL, which a TOML string cannot hold unescaped
            // and a command line cannot carry either.
            shlex::try_quote(word)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| format!("'{}'", word.replace('\0', "")))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, text: &str) -> ArchiveEntry {
        ArchiveEntry {
            path: path.to_string(),
            executable: false,
            file: CompressedFile::compress(text.as_bytes()).expect("compress"),
        }
    }

    #[test]
    fn console_scripts_come_from_entry_points() {
        let packages = [
            entry(
                "gunicorn-23.0.0.dist-info/entry_points.txt",
                "[console_scripts]\ngunicorn = gunicorn.app.wsgiapp:run\n\n[paste.server_runner]\nmain = gunicorn.app.pasterapp:serve\n",
            ),
            entry(
                "uvicorn-0.30.dist-info/entry_points.txt",
                "[console_scripts]\nuvicorn = uvicorn.main:main [standard]\n",
            ),
        ];
        let scripts = console_scripts(&packages);
        assert_eq!(scripts["gunicorn"], "gunicorn.app.wsgiapp:run");
        assert_eq!(scripts["uvicorn"], "uvicorn.main:main");
        assert!(!scripts.contains_key("main"));
    }

    #[test]
    fn python_names_are_recognised() {
        for name in ["python", "python3", "python3.12", "/usr/bin/python3"] {
            assert!(is_python(name), "{name}");
        }
        for name in ["pythonic", "python2", "gunicorn"] {
            assert!(!is_python(name), "{name}");
        }
    }
}
