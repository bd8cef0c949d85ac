#!/usr/bin/env bash
# Add Assistant to the current user's application menu (freedesktop.org entry + icon).
# Usage: packaging/install-desktop-entry.sh [--uninstall] [PROGRAM]
# PROGRAM defaults to the built bundle (dist/Assistant/Assistant) if it exists,
# else to ./run.sh in this checkout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/assistant.desktop"
icons="$data/icons/hicolor"
if [[ "${1:-}" == "--uninstall" ]]; then
    rm -f "$entry" "$icons/scalable/apps/assistant.svg" "$icons/256x256/apps/assistant.png"
    echo "Removed the Assistant menu entry."
    exit 0
fi
program="${1:-}"
if [[ -z "$program" ]]; then
    if [[ -x "$root/dist/Assistant/Assistant" ]]; then
        program="$root/dist/Assistant/Assistant"
    else
        program="$root/run.sh"
    fi
fi
[[ -x "$program" ]] || { echo "Not an executable: $program" >&2; exit 1; }
program="$(cd "$(dirname "$program")" && pwd)/$(basename "$program")"
mkdir -p "$data/applications" "$icons/scalable/apps" "$icons/256x256/apps"
install -m 644 "$root/resources/icons/assistant.svg" "$icons/scalable/apps/assistant.svg"
install -m 644 "$root/resources/icons/assistant-256.png" "$icons/256x256/apps/assistant.png"
sed "s|@EXEC@|\"$program\"|" "$root/resources/assistant.desktop" >"$entry"
chmod 644 "$entry"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$entry"; fi
if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$data/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
fi
echo "Installed $entry (runs $program)."
