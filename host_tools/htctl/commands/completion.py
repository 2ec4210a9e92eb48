"""htctl completion bash|zsh|tcsh — print a shell completion script (shtab, from the argument parser itself).

    htctl completion bash | sudo tee /etc/bash_completion.d/htctl
    htctl completion zsh > ~/.zfunc/_htctl        # with fpath+=(~/.zfunc) before compinit
"""
NAME = "completion"
HELP = "print a shell completion script: htctl completion bash > /etc/bash_completion.d/htctl"


def configure(parser):
    parser.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="the shell to complete for")


def run(args, ctx):
    import shtab

    from ..cli import build_parser
    ctx.out.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return 0
