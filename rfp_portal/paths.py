"""Where the top-level folders (templates, static, migrations) are.

In a checkout they sit beside the package; an installed wheel carries them inside the package.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` from the installed package or, failing that, the checkout.

    :raise FileNotFoundError: when neither place has it.
    """
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder beside or inside {PACKAGE_DIR}")
