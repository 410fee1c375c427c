# Where scripts/vscode/install.sh puts things; sourced by the install and run scripts.
# harness/vscode/paths.ts computes the same paths for the TypeScript runner: keep them in step.
# Every value can be overridden from the environment.
: "${CTD_VSCODE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/conntrack-doctor}"
: "${CTD_NODE24_VERSION:=24.21.0}"
: "${CTD_CODE_SERVER_VERSION:=4.139.1}"
: "${CTD_NODE24_DIR:=$CTD_VSCODE_CACHE/node-$CTD_NODE24_VERSION}"
: "${CTD_CODE_SERVER_DIR:=$CTD_VSCODE_CACHE/code-server-$CTD_CODE_SERVER_VERSION}"
# Versions that run on Node 20 (test-electron 3, vsce 4 need Node 22).
CTD_TOOL_PACKAGES=(playwright-core@1.65.1 @vscode/test-electron@2.5.2 @vscode/vsce@3.9.2)
# The tools folder is named after its package list, so changing a version installs afresh.
: "${CTD_TOOLS_DIR:=$CTD_VSCODE_CACHE/tools-$(printf '%s\n' "${CTD_TOOL_PACKAGES[@]}" | cksum | cut -d' ' -f1)}"
export CTD_VSCODE_CACHE CTD_NODE24_VERSION CTD_CODE_SERVER_VERSION CTD_NODE24_DIR CTD_CODE_SERVER_DIR CTD_TOOLS_DIR
