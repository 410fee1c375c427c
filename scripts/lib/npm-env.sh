# Sourced by the scripts that start npm or node for another project or on another Node (the
# code-server install on Node 24, the project's own `npm ci`).
#
# npm exports its own state to whatever it runs: npm_config_* (among them
# npm_config_user_agent, naming the Node *npm* runs on: code-server's postinstall reads it and
# refused "requires node v24 … you are on node v20"), npm_package_*, npm_lifecycle_*,
# npm_command, npm_execpath, npm_node_execpath, INIT_CWD, NODE, COLOR, and it puts the
# project's node_modules/.bin folders and its node-gyp-bin first on PATH. A nested npm or node
# inherits all of that, so a script behaved differently under `npm run demo` / `npm test` than
# from a shell. ctd_clean_npm_env removes it from the current shell, so both ways are the same;
# the user's own npm configuration (~/.npmrc, /etc/npmrc) is still read by the nested npm.
# test/install/npmEnv.test.ts checks it against what npm really exports.
ctd_clean_npm_env() {
  local name entry path= IFS
  while IFS= read -r name; do
    case $name in
      npm_config_* | npm_package_* | npm_lifecycle_* | npm_command | npm_execpath | npm_node_execpath | INIT_CWD | NODE | COLOR)
        unset "$name" ;;
    esac
  done < <(compgen -e)
  IFS=:
  for entry in $PATH; do
    case $entry in
      */node_modules/.bin | */@npmcli/run-script/lib/node-gyp-bin | '') continue ;;
    esac
    path=${path:+$path:}$entry
  done
  PATH=$path
  export PATH
}
