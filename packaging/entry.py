"""Bundle entry point, shared by both programs of the bundle: ``assistant-cli`` runs
the command line, ``Assistant`` the window (one analysis, one copy of the runtime)."""

import multiprocessing
import sys
from pathlib import Path

# teaching trains in a spawned child: in a frozen bundle that child starts as this
# program, and freeze_support() runs the child's work instead of the app
multiprocessing.freeze_support()

if Path(sys.argv[0]).name.startswith("assistant-cli"):
    from assistant.cli import main

    raise SystemExit(main())

from assistant.ui.app import run

# files passed by the desktop entry (Exec=… %F) are added to the library
files = [arg for arg in sys.argv[1:] if Path(arg).exists()]
raise SystemExit(run(sys.argv[:1], files))
