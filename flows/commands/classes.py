"""List the class catalogue."""
from __future__ import annotations

HELP = "list the class catalogue (label id, name, search text, ImageNet synsets)"


def add_arguments(p) -> None:
    p.add_argument("--classes", metavar="FILE", help="your own class catalogue CSV instead of the built-in one")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from dataclasses import asdict

    from catalog.classes import load_classes
    from flows.commands.common import print_json

    classes = load_classes(args.classes)
    if args.json:
        print_json([asdict(c) for c in classes])
        return 0
    for c in classes:
        flag = "" if c.in_release else "  (not in release)"
        print(f"{c.label_id:>3}  {c.name:<14} {c.oi_mid:<11} {' '.join(c.imagenet_synsets) or '-'}{flag}")
    return 0
