use std::fs;
use std::path::Path;

use super::*;

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn uv_project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "pyproject.toml",
        &format!("[project]\nname = \"demo\"\nversion = \"0.1.0\"\n\n{config}"),
    );
    write(dir.path(), "uv.lock", "version = 1\n");
    write(dir.path(), "app/main.py", "def handler(e, c): return e\n");
    dir
}

fn load_err(dir: &Path) -> String {
    Project::load(dir, &Overrides::default())
        .expect_err("should fail")
        .to_string()
}

#[test]
fn one_function_from_the_top_level_table_with_defaults() {
    let dir = uv_project("[tool.lambdaship]\nhandler = \"app.main.handler\"\n");
    let project = Project::load(dir.path(), &Overrides::default()).expect("loads");
    let [function] = project.functions.as_slice() else {
        panic!("one function expected");
    };
    assert_eq!(function.name, "demo");
    assert_eq!(function.runtime, Runtime::Python313);
    assert_eq!(function.architecture, Architecture::X86_64);
    assert_eq!(function.layout, Layout::Zip);
    assert_eq!(function.include, ["app"]);
    assert_eq!(function.memory_mb, 128);
    assert!(matches!(project.dependencies, Dependencies::Locked(_)));
}

#[test]
fn function_tables_override_the_top_level_keys_and_flags_override_both() {
    let dir = uv_project(
        "[tool.lambdaship]\nhandler = \"app.main.handler\"\nmemory = 512\nruntime = \"python3.12\"\n\
         [tool.lambdaship.functions.api]\n\
         [tool.lambdaship.functions.worker]\nhandler = \"app.main.work\"\nmemory = 1024\narchitecture = \"arm64\"\n",
    );
    let overrides = Overrides {
        runtime: Some(Runtime::Python311),
        ..Overrides::default()
    };
    let project = Project::load(dir.path(), &overrides).expect("loads");
    let names: Vec<_> = project.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["api", "worker"]);
    let worker = &project.functions[1];
    assert_eq!(worker.memory_mb, 1024);
    assert_eq!(worker.architecture, Architecture::Arm64);
    assert_eq!(worker.handler.function(), "work");
    assert_eq!(project.functions[0].memory_mb, 512);
    assert!(
        project
            .functions
            .iter()
            .all(|f| f.runtime == Runtime::Python311)
    );
    assert_eq!(project.select(Some("worker")).expect("found").len(), 1);
    let err = project
        .select(Some("nope"))
        .expect_err("unknown")
        .to_string();
    assert!(err.contains("`api`, `worker`"), "{err}");
}

#[test]
fn invalid_toml_reports_line_and_column() {
    let dir = uv_project("[tool.lambdaship]\nhandler = app.main.handler\n");
    let err = load_err(dir.path());
    assert!(
        err.contains("pyproject.toml") && err.contains("line 6"),
        "{err}"
    );
}

#[test]
fn bad_values_name_the_field_and_the_choices() {
    let dir = uv_project("[tool.lambdaship]\nruntime = \"python3.8\"\n");
    let err = load_err(dir.path());
    assert!(
        err.contains("line 6") && err.contains("python3.14"),
        "{err}"
    );

    let dir = uv_project("[tool.lambdaship]\nhandlr = \"app.main.handler\"\n");
    assert!(load_err(dir.path()).contains("unknown field `handlr`"));

    let dir = uv_project("[tool.lambdaship]\nmemory = 64\n");
    assert!(load_err(dir.path()).contains("128 to 10240"));

    let dir = uv_project("[tool.lambdaship]\ngroups = [\"lint\"]\n");
    assert!(load_err(dir.path()).contains("no dependency group `lint`"));
}

#[test]
fn a_uv_project_without_a_lock_says_run_uv_lock() {
    let dir = uv_project("");
    fs::remove_file(dir.path().join("uv.lock")).expect("rm");
    let err = load_err(dir.path());
    assert!(
        err.contains("uv.lock not found") && err.contains("uv lock"),
        "{err}"
    );
}

#[test]
fn no_project_files_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(load_err(dir.path()).contains("no pyproject.toml or requirements.txt"));
}

#[test]
fn a_workspace_member_uses_the_root_lock_and_its_package_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"root\"\nversion = \"0\"\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\n",
    );
    write(dir.path(), "uv.lock", "version = 1\n");
    write(
        dir.path(),
        "packages/api/pyproject.toml",
        "[project]\nname = \"api\"\nversion = \"0\"\n",
    );
    write(
        dir.path(),
        "packages/lib/pyproject.toml",
        "[project]\nname = \"lib\"\nversion = \"0\"\n",
    );
    let project =
        Project::load(&dir.path().join("packages/api"), &Overrides::default()).expect("loads");
    let Dependencies::Locked(workspace) = &project.dependencies else {
        panic!("locked expected");
    };
    let root = dir.path().canonicalize().expect("canonical");
    assert_eq!(workspace.root, root);
    assert_eq!(workspace.package.as_deref(), Some("api"));
    assert_eq!(workspace.members.len(), 3);
    assert_eq!(workspace.lock_inputs().len(), 4);
}

#[test]
fn a_bare_requirements_file_is_a_project() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "requirements.txt", "idna==3.10\n");
    write(
        dir.path(),
        "lambda_function.py",
        "def lambda_handler(e, c): pass\n",
    );
    let project = Project::load(dir.path(), &Overrides::default()).expect("loads");
    assert!(matches!(
        project.dependencies,
        Dependencies::Requirements(_)
    ));
    assert_eq!(project.functions[0].handler.to_string(), DEFAULT_HANDLER);
    assert_eq!(project.functions[0].include, ["lambda_function.py"]);
}

#[test]
fn a_web_function_runs_its_command_behind_the_adapter() {
    let dir = uv_project("[tool.lambdaship]\nweb = \"gunicorn -b 127.0.0.1:8080 -w 1 app:app\"\n");
    write(dir.path(), "app.py", "app = None\n");
    let project = Project::load(dir.path(), &Overrides::default()).expect("loads");
    let function = &project.functions[0];
    let web = function.web.as_ref().expect("a web function");
    assert_eq!(web.words[0], "gunicorn");
    assert_eq!(web.port, 8080);
    assert_eq!(function.lambda_handler(), WEB_HANDLER);
    // `app:app` names the app module: its package wins over app.py, as Python imports it.
    assert_eq!(function.include, ["app"]);
    assert_eq!(
        function
            .environment
            .get("AWS_LAMBDA_EXEC_WRAPPER")
            .map(String::as_str),
        Some(EXEC_WRAPPER_PATH)
    );
    assert_eq!(
        function.environment.get("AWS_LWA_PORT").map(String::as_str),
        Some("8080")
    );
}

#[test]
fn web_settings_are_checked() {
    let both = uv_project(
        "[tool.lambdaship]\nhandler = \"app.main.handler\"\nweb = \"gunicorn app:app\"\n",
    );
    assert!(load_err(both.path()).contains("either `handler`"));
    let port_alone = uv_project("[tool.lambdaship]\nweb_port = 9000\n");
    assert!(load_err(port_alone.path()).contains("`web_port` goes with `web`"));
    let bad_port = uv_project("[tool.lambdaship]\nweb = \"gunicorn app:app\"\nweb_port = 70000\n");
    assert!(load_err(bad_port.path()).contains("1-65535"));
    let clash = uv_project(
        "[tool.lambdaship]\nweb = \"uvicorn app:app --port 9000\"\nweb_port = 9000\n\
         [tool.lambdaship.environment]\nAWS_LWA_PORT = \"8080\"\n",
    );
    let message = load_err(clash.path());
    assert!(message.contains("AWS_LWA_PORT=9000"), "{message}");
    // A function table with its own handler does not inherit the top-level web app.
    let mixed = uv_project(
        "[tool.lambdaship]\nweb = \"uvicorn app.main:app\"\n\
         [tool.lambdaship.functions.api]\n\
         [tool.lambdaship.functions.worker]\nhandler = \"app.main.handler\"\n",
    );
    let project = Project::load(mixed.path(), &Overrides::default()).expect("loads");
    let api = project
        .functions
        .iter()
        .find(|f| f.name == "api")
        .expect("api");
    let worker = project
        .functions
        .iter()
        .find(|f| f.name == "worker")
        .expect("worker");
    assert!(api.web.is_some());
    assert_eq!(api.include, ["app"]);
    assert!(worker.web.is_none());
    assert_eq!(worker.lambda_handler(), "app.main.handler");
}
