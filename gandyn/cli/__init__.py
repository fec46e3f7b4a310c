"""The `gandyn` command line: a thin layer over the library."""

import os
import sys
import tempfile
import traceback
from typing import Annotated

import typer
from typer.core import TyperGroup

# Figures are files: no window, whatever the machine has (set before matplotlib loads;
# the library itself leaves the backend to its user).
os.environ.setdefault("MPLBACKEND", "Agg")

from . import _common, _eigen, _losses, _portrait, _simulate, _sweep, _train  # noqa: E402
from . import _explore  # noqa: E402
from . import _rerun, _slice  # noqa: E402
from . import _bifurcation  # noqa: E402
from . import _animate  # noqa: E402
from . import _landscape  # noqa: E402


class _OneLineErrors(TyperGroup):
    """Every error a user can cause reads the same: one line `Error: …` on stderr and
    exit code 2 — click's usage errors (a malformed number, an unknown command or
    option) included, which typer would draw as a multi-line box. A `ValueError`
    escaping a command is bad input the library named; anything else is a bug,
    reported on one line with the traceback saved to a file."""

    def invoke(self, ctx):
        """A Ctrl-C that no command handles is said (typer would exit 130 silently)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _report("interrupted", 130)
            raise typer.Exit(130) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            _refuse_repeated_options(self, sys.argv[1:] if args is None else list(args))
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except typer.Exit as e:
            code = e.exit_code
        except typer.Abort:
            code = _report("interrupted", 130)
        except Exception as e:  # noqa: BLE001 - every error ends in one line
            if hasattr(e, "format_message") and hasattr(e, "exit_code"):
                # click's usage errors (typer ships click inside it from 0.2x on).
                ctx = getattr(e, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                code = _report(f"{e.format_message()}{hint}", e.exit_code)
            elif isinstance(e, ValueError):
                code = _report(_first_line(e), 2)
            elif isinstance(e, OSError) and e.strerror:  # the file system said no
                where = f" {str(e.filename)!r}" if e.filename else ""
                code = _report(f"cannot write or read{where}: {e.strerror}", 1)
            else:  # a bug: one line, the traceback in a file
                code = _report(f"internal error ({type(e).__name__}: {_first_line(e)}); "
                               f"traceback in {_save_traceback()}", 1)
        code = 0 if code is None else code
        if standalone_mode:
            sys.exit(code)
        return code


def _refuse_repeated_options(group: TyperGroup, args: list[str]) -> None:
    """A single-valued option given twice (`--step 0.1 --step 0.5`) is refused, not
    silently the last: one line naming it. Repeatable options (`--method`, `--reg`)
    are lists and may repeat; nothing after `--` is an option."""
    args = [str(a) for a in args]
    if "--" in args:
        args = args[: args.index("--")]
    valued = {o for p in group.params if not getattr(p, "is_flag", True) for o in p.opts}
    index = 0
    while index < len(args) and args[index].startswith("-"):  # the group's own options
        index += 2 if args[index] in valued else 1
    command = group.commands.get(args[index]) if index < len(args) else None
    if command is None:  # click reports unknown commands itself
        return
    name = args[index]
    seen: dict[str, str] = {}
    for arg in args[index + 1:]:
        if not arg.startswith("-") or arg == "-":
            continue
        flag = arg.split("=", 1)[0]
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and not param.multiple and \
                    flag in (*param.opts, *param.secondary_opts):
                if param.name in seen:
                    raise _common.InputError(f"option {seen[param.name]} is given twice ({flag} "
                                             f"again); give it once (see 'gandyn {name} --help')")
                seen[param.name] = flag
                break


def _report(message: str, code: int) -> int:
    print(f"Error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return code


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _save_traceback() -> str:
    fd, path = tempfile.mkstemp(prefix="gandyn-error-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        traceback.print_exc(file=f)
    return path


app = typer.Typer(
    name="gandyn",
    cls=_OneLineErrors,
    help="GAN training dynamics: simulate games as ODE flows and optimizer maps.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _settings(
    compile_cache: Annotated[bool, typer.Option(
        "--compile-cache/--no-compile-cache",
        help="keep compiled programs on disk (in gandyn's cache folder) so that a second run "
             "skips compiling; also off with GANDYN_COMPILE_CACHE=0")] = True,
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", help="the most memory a run may plan to hold, e.g. 16G (default: "
             "half of this machine's memory; also GANDYN_MEMORY_LIMIT); a run estimated above "
             "it is refused before it starts")] = None,
) -> None:
    """GAN training dynamics: simulate games as ODE flows and optimizer maps."""
    if memory_limit is not None:
        from .._budget import MEMORY_ENV, parse_bytes

        try:
            os.environ[MEMORY_ENV] = str(parse_bytes(memory_limit, "--memory-limit"))
        except ValueError as e:
            _common.fail(str(e))
    _common.use_compile_cache(compile_cache)


app.command("simulate")(_simulate.simulate)
app.command("portrait")(_portrait.portrait)
app.command("eigen")(_eigen.eigen)
app.command("sweep")(_sweep.sweep)
app.command("train")(_train.train)
app.command("losses")(_losses.losses)
app.command("explore")(_explore.explore)
app.command("slice")(_slice.slice)
app.command("rerun")(_rerun.rerun)
app.command("bifurcation")(_bifurcation.bifurcation)
app.command("animate")(_animate.animate)
app.command("landscape")(_landscape.landscape)


def main() -> None:
    app()
