fn main() -> std::process::ExitCode {
    cleanroom_cli::run()
}
