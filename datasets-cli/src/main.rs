//! `datasets`: the command line of the datasets project (see the
//! `datasets_cli` library, its body, and `datasets --help`).

// An import makes millions of small allocations (JSON values, parsed and
// encoded); glibc's malloc and free took over a third of its time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    datasets_cli::main()
}
