# Sourced by scripts that start a Prometheus stack in the background (scripts/vscode/test.sh,
# scripts/demo.sh): waits until the starter has written its JSON ({ url, … }) and prints the url.
#   prom_url=$(fleet_url FILE PID WHAT SECONDS) || exit
fleet_url() {
  local file=$1 pid=$2 what=$3 seconds=${4:-120} i
  for ((i = 0; i < seconds * 5; i++)); do
    [ -s "$file" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "$what did not start" >&2; return 1; }
    sleep 0.2
  done
  [ -s "$file" ] || { echo "$what did not start in $seconds s" >&2; return 1; }
  node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).url)' "$file"
}
