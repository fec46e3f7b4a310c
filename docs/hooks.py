"""MkDocs hooks (mkdocs.yml `hooks:`) for gandyn's site.

- gandyn's docstrings start a list on the line after its heading (`**Arguments:**` then
  `- x: …`), as equinox's do; Python-Markdown needs a blank line there, so a
  preprocessor inserts one (in pages and in docstrings rendered by mkdocstrings).
- The figures the pages show from `experiments/figures/` are copied into the site, so
  each has one source of truth, where its command writes it.
"""

import re
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")
ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("dirac_portrait.png", "bifurcation_nsgan_h.png",
           "bifurcation_chart_nsgan.png", "slices_ring8.png", "berard_path_angle_nsgan-sim.png",
           "berard_eigenvalues_nsgan-sim.png", "mnist5k_eigenvalues.png")


def breakless(lines: list[str]) -> list[str]:
    """Insert a blank line before a list that directly follows a paragraph line."""
    out: list[str] = []
    in_list = in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            if _ITEM.match(line):
                if out and out[-1].strip() and not in_list:
                    out.append("")
                in_list = True
            elif line.strip() and not line.startswith((" ", "\t")):
                in_list = False
        out.append(line)
    return out


class _Breakless(Preprocessor):
    def run(self, lines):
        return breakless(lines)


class BreaklessLists(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        md.preprocessors.register(_Breakless(md), "gandyn_breakless_lists", 25)


@event_priority(100)  # before mkdocstrings reads the extensions
def on_config(config):
    config.markdown_extensions.append(BreaklessLists())
    return config


def on_files(files, config):
    for name in FIGURES:
        files.append(File(f"figures/{name}", src_dir=str(ROOT / "experiments"),
                          dest_dir=config.site_dir, use_directory_urls=False))
    return files
