from rich.console import Console
from rich.table import Table

from .. import losses as gandyn_losses


def losses() -> None:
    """List the available losses with a one-line description each."""
    table = Table("name", "description", box=None)
    for name in gandyn_losses.names():
        table.add_row(name, gandyn_losses.get(name).description)
    Console().print(table)
