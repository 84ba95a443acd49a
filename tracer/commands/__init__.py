"""The subcommands of ``sockscope``, one module each.

Each module has ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed args, returning an exit code).
"""

COMMANDS = [
    "tracer.commands.serve",
    "tracer.commands.replay",
    "tracer.commands.export",
    "tracer.commands.check",
    "tracer.commands.compare",
    "tracer.commands.record",
    "tracer.commands.scenarios",
    "tracer.commands.live",
    "tracer.commands.demo",
    "tracer.commands.lesson",
    "tracer.commands.bench",
    "tracer.commands.run",
    "tracer.commands.grade",
]
