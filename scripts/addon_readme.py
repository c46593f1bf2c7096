"""Writes meso_inventory/README.md from the readme fragments (readme/*.md), as OCA's
readme generator does for its addons: the wheel's description is this file.

    python scripts/addon_readme.py          # rewrite it
    python scripts/addon_readme.py --check  # exit 1 if it is out of date
"""

import ast
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parent.parent / "meso_inventory"
SECTIONS = [
    ("DESCRIPTION.md", None),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
    ("HISTORY.md", "Changelog"),
    ("CONTRIBUTORS.md", "Contributors"),
]


def render():
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text(encoding="utf-8"))
    parts = [
        f"# {manifest['name']}",
        "<!-- Generated from readme/*.md by scripts/addon_readme.py: edit those. -->",
        f"Version {manifest['version']} · {manifest['license']} · {manifest['website']}",
    ]
    for fragment, title in SECTIONS:
        text = (ADDON / "readme" / fragment).read_text(encoding="utf-8").strip()
        if title:
            # the fragment's own headings go one level down under the section's
            text = "\n".join(
                f"#{line}" if line.startswith("#") else line for line in text.split("\n")
            )
            parts.append(f"## {title}")
        parts.append(text)
    return "\n\n".join(parts) + "\n"


def main():
    target = ADDON / "README.md"
    content = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            print(f"{target} is out of date: run python scripts/addon_readme.py")
            return 1
        return 0
    target.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
