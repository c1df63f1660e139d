#!/usr/bin/env bash
# The run steps of the pipeline templates in ci-templates/: GitHub Actions and Azure Pipelines
# both call this one script, configured by environment variables, so what a pipeline runs is
# what tests/pipelines/ runs against the emulator.
#
#   bash scripts/pipeline-gameday.sh preflight   read-only checks (`flexchaos preflight`)
#   bash scripts/pipeline-gameday.sh gameday     the game day, its JUnit XML, report and summary
#   bash scripts/pipeline-gameday.sh rollback    revert whatever a killed run left in (always run)
#
# Each step exits with flexchaos's code (reports/exit_codes.py): 0 every target met, 1 a target
# missed, 2 bad input (preflight: a blocker), 3 inconclusive, 4 harness error, 130 interrupted;
# it says which in the CI's own words (an annotation and step outputs, below) so a missed target,
# an inconclusive run and a broken harness are told apart, and never passes on anything but 0.
#
# Environment (empty = not given):
#   FLEXCHAOS_FLEET           azure (default) or emulator
#   FLEXCHAOS_SUBSCRIPTION    subscription id (default $AZURE_SUBSCRIPTION_ID)
#   FLEXCHAOS_RESOURCE_GROUP  FLEXCHAOS_SCALE_SET  FLEXCHAOS_LOAD_BALANCER  FLEXCHAOS_LB_URL
#   FLEXCHAOS_ALLOW_TAG  FLEXCHAOS_ARM_URL  FLEXCHAOS_ARM_AUDIENCE  FLEXCHAOS_TIME_SCALE
#                             the fleet options of the same names (flexchaos/fleet_spec.py)
#   FLEXCHAOS_EXPERIMENTS     experiment paths, space-separated (default experiments)
#   FLEXCHAOS_TARGETS         a targets TOML (default: experiments/targets.toml's own)
#   FLEXCHAOS_WORK_DIR        the run's work dir (default .flexchaos)
#   FLEXCHAOS_ARGS            more game-day options, space-separated (e.g. "-k stop --users 20")
#   FLEXCHAOS_REPORT          true (default): build the Allure HTML report; false: results only
#   FLEXCHAOS_PREFLIGHT       auto (default: run it when this flexchaos has the command),
#                             required, or skip
#   FLEXCHAOS_PYTHON          the Python that has flexchaos (default .venv/bin/python, python3)
#   FLEXCHAOS_OIDC_AUDIENCE   GitHub OIDC audience (default api://AzureADTokenExchange)
#
# Sign-in (--fleet azure) is DefaultAzureCredential. What a pipeline hands over is turned into
# the workload identity variables it reads (AZURE_TENANT_ID, AZURE_CLIENT_ID,
# AZURE_FEDERATED_TOKEN_FILE), unless AZURE_FEDERATED_TOKEN_FILE is already set:
#   Azure Pipelines, AzureCLI@2 with addSpnToEnvironment on a workload identity federation
#     service connection: $idToken, $servicePrincipalId, $tenantId
#   GitHub Actions with `permissions: id-token: write`: an OIDC token asked of
#     $ACTIONS_ID_TOKEN_REQUEST_URL for AZURE_CLIENT_ID / AZURE_TENANT_ID (vars of the workflow)
# Without either, DefaultAzureCredential falls back to the Azure CLI that azure/login or
# AzureCLI@2 signed in.
#
# Outputs: GitHub Actions: $GITHUB_OUTPUT exit-code, category, work-dir; an ::error::,
# ::warning:: or ::notice:: annotation; the harness appends its summary to $GITHUB_STEP_SUMMARY.
# Azure Pipelines: output variables exitCode and category (isOutput), a task.logissue, and the
# same Markdown summary uploaded with task.uploadsummary (<work dir>/job-summary-<step>.md).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEP=${1:-}
FLEET=${FLEXCHAOS_FLEET:-azure}
WORK=${FLEXCHAOS_WORK_DIR:-.flexchaos}
EXPERIMENTS=${FLEXCHAOS_EXPERIMENTS:-experiments}
ON_GITHUB=false
ON_AZURE_PIPELINES=false
[ "${GITHUB_ACTIONS:-}" = "true" ] && ON_GITHUB=true
[ "${TF_BUILD:-}" = "True" ] || [ "${TF_BUILD:-}" = "true" ] && ON_AZURE_PIPELINES=true

if [ -n "${FLEXCHAOS_PYTHON:-}" ]; then
  PY=$FLEXCHAOS_PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then
  PY=$ROOT/.venv/bin/python
else
  PY=python3
fi

say() { printf 'pipeline-gameday: %s\n' "$*"; }

usage_error() {  # bad input to this script: one line, exit 2, nothing run
  echo "pipeline-gameday: error: $*" >&2
  annotate 2 "$STEP" "$*"
  exit 2
}

# --- what an exit code means, in the pipeline's words --------------------------------------
category() {
  case "$1" in
    0) echo met ;;
    1) echo missed ;;
    2) echo bad-input ;;
    3) echo inconclusive ;;
    130) echo interrupted ;;
    *) echo harness-error ;;
  esac
}

level() {  # the annotation's level: a pass is a notice, a run that proved nothing a warning
  case "$(category "$1")" in
    met) echo notice ;;
    inconclusive | interrupted) echo warning ;;
    *) echo error ;;
  esac
}

title() {  # $1 code, $2 step
  case "$2:$(category "$1")" in
    preflight:met) echo "flexchaos preflight: nothing blocks the game day" ;;
    preflight:bad-input) echo "flexchaos preflight: a blocker (fix it before the game day)" ;;
    rollback:met) echo "flexchaos rollback: nothing left in" ;;
    rollback:*) echo "flexchaos rollback: a revert failed (check the fleet by hand)" ;;
    *:met) echo "flexchaos $2: every resilience target met" ;;
    *:missed) echo "flexchaos $2: a resilience target was missed (the design failed)" ;;
    *:bad-input) echo "flexchaos $2: bad input (refused before its fault)" ;;
    *:inconclusive) echo "flexchaos $2: inconclusive (nothing proved; never a pass)" ;;
    *:interrupted) echo "flexchaos $2: interrupted (faults reverted)" ;;
    *) echo "flexchaos $2: harness error (no figure can be trusted)" ;;
  esac
}

headline() {  # `FAILED (a target was missed), exit 1`: the harness's own
  "$PY" -c 'import sys; from reports.exit_codes import headline
print(headline(int(sys.argv[1])))' "$1" 2>/dev/null || echo "exit $1"
}

meaning() {  # the harness's own sentence for the code, whom to call included
  "$PY" -c 'import sys; from reports.exit_codes import meaning
print(meaning(int(sys.argv[1])).sentence())' "$1" 2>/dev/null || echo "Exit $1."
}

annotate() {  # $1 code, $2 step, $3 detail (optional)
  local code=$1 step=${2:-step} detail=${3:-} lvl head text
  lvl=$(level "$code")
  head=$(title "$code" "$step")
  if [ "$step" = "rollback" ] && [ "$code" != 0 ]; then lvl=error; fi
  text=${detail:-$(meaning "$code")}
  if $ON_GITHUB; then
    echo "::${lvl} title=${head}::${text}"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
      {
        echo "exit-code=${code}"
        echo "category=$(category "$code")"
        echo "work-dir=${WORK}"
      } >>"$GITHUB_OUTPUT"
    fi
  fi
  if $ON_AZURE_PIPELINES; then
    if [ "$lvl" = notice ]; then
      echo "${head}: ${text}"
    else
      echo "##vso[task.logissue type=${lvl}]${head}: ${text}"
    fi
    echo "##vso[task.setvariable variable=exitCode;isOutput=true]${code}"
    echo "##vso[task.setvariable variable=category;isOutput=true]$(category "$code")"
  fi
  if ! $ON_GITHUB && ! $ON_AZURE_PIPELINES; then
    say "${head} (exit ${code}, $(category "$code")): ${text}"
  fi
}

# --- sign-in: what the pipeline hands over → DefaultAzureCredential's variables --------------
TOKEN_FILE=
cleanup() { [ -n "$TOKEN_FILE" ] && rm -f "$TOKEN_FILE"; return 0; }
trap cleanup EXIT

mask() {
  $ON_GITHUB && echo "::add-mask::$1"
  $ON_AZURE_PIPELINES && echo "##vso[task.setsecret]$1"
  return 0
}

write_token_file() {  # $1 the federated token
  local dir=${RUNNER_TEMP:-${AGENT_TEMPDIRECTORY:-${TMPDIR:-/tmp}}}
  TOKEN_FILE=$(umask 077 && mktemp "$dir/flexchaos-federated-token.XXXXXX") || return 1
  printf '%s' "$1" >"$TOKEN_FILE"
  export AZURE_FEDERATED_TOKEN_FILE=$TOKEN_FILE
}

github_oidc_token() {  # GitHub's documented request: bearer the request token, name the audience
  "$PY" - <<'EOF'
import json, os, sys, urllib.parse, urllib.request
url = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"]
audience = os.environ.get("FLEXCHAOS_OIDC_AUDIENCE") or "api://AzureADTokenExchange"
url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"audience": audience})
request = urllib.request.Request(
    url, headers={"Authorization": "bearer " + os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]}
)
try:
    with urllib.request.urlopen(request, timeout=30) as answer:
        print(json.load(answer)["value"])
except Exception as exc:  # one line, no traceback: the step says what to fix
    sys.exit(f"GitHub's OIDC token could not be had ({exc}); does the job have "
             "`permissions: id-token: write`?")
EOF
}

sign_in() {
  [ "$FLEET" = azure ] || return 0
  if [ -n "${AZURE_FEDERATED_TOKEN_FILE:-}" ]; then
    say "sign-in: workload identity from AZURE_FEDERATED_TOKEN_FILE"
  elif [ -n "${idToken:-}" ]; then  # AzureCLI@2, addSpnToEnvironment, workload identity federation
    mask "$idToken"
    export AZURE_CLIENT_ID=${AZURE_CLIENT_ID:-${servicePrincipalId:-}}
    export AZURE_TENANT_ID=${AZURE_TENANT_ID:-${tenantId:-}}
    write_token_file "$idToken" || usage_error "cannot write the federated token file"
    say "sign-in: workload identity federation of the Azure Pipelines service connection"
  elif [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] && [ -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ] \
    && [ -n "${AZURE_CLIENT_ID:-}" ] && [ -n "${AZURE_TENANT_ID:-}" ]; then
    local token
    token=$(github_oidc_token) || usage_error "GitHub's OIDC token could not be had; does the job have \`permissions: id-token: write\`?"
    mask "$token"
    write_token_file "$token" || usage_error "cannot write the federated token file"
    say "sign-in: GitHub Actions OIDC token for client ${AZURE_CLIENT_ID}"
  else
    say "sign-in: DefaultAzureCredential's chain (environment, workload identity, Azure CLI, ...)"
  fi
}

# --- the fleet options, the same for every step ---------------------------------------------
FLEET_ARGS=(--fleet "$FLEET")
add_option() {  # $1 option, $2 value: added only when given
  [ -n "$2" ] && FLEET_ARGS+=("$1" "$2")
  return 0
}
add_option --arm-url "${FLEXCHAOS_ARM_URL:-}"
add_option --arm-audience "${FLEXCHAOS_ARM_AUDIENCE:-}"
add_option --subscription "${FLEXCHAOS_SUBSCRIPTION:-${AZURE_SUBSCRIPTION_ID:-}}"
add_option --resource-group "${FLEXCHAOS_RESOURCE_GROUP:-}"
add_option --scale-set "${FLEXCHAOS_SCALE_SET:-}"
add_option --load-balancer "${FLEXCHAOS_LOAD_BALANCER:-}"
add_option --lb-url "${FLEXCHAOS_LB_URL:-}"
add_option --allow-tag "${FLEXCHAOS_ALLOW_TAG:-}"
add_option --time-scale "${FLEXCHAOS_TIME_SCALE:-}"

check_input() {
  case "$FLEET" in
    azure | emulator) ;;
    *) usage_error "FLEXCHAOS_FLEET=$FLEET is not known; use azure or emulator" ;;
  esac
  if [ "$FLEET" = azure ]; then
    local missing=()
    [ -n "${FLEXCHAOS_SUBSCRIPTION:-${AZURE_SUBSCRIPTION_ID:-}}" ] || missing+=(FLEXCHAOS_SUBSCRIPTION)
    [ -n "${FLEXCHAOS_RESOURCE_GROUP:-}" ] || missing+=(FLEXCHAOS_RESOURCE_GROUP)
    [ -n "${FLEXCHAOS_SCALE_SET:-}" ] || missing+=(FLEXCHAOS_SCALE_SET)
    [ "$STEP" != gameday ] || [ -n "${FLEXCHAOS_LB_URL:-}" ] || missing+=(FLEXCHAOS_LB_URL)
    [ ${#missing[@]} -eq 0 ] \
      || usage_error "--fleet azure needs ${missing[*]}: set them in the pipeline's variables"
  fi
  case "${FLEXCHAOS_REPORT:-true}" in true | false) ;;
    *) usage_error "FLEXCHAOS_REPORT=${FLEXCHAOS_REPORT} must be true or false" ;;
  esac
  case "${FLEXCHAOS_PREFLIGHT:-auto}" in auto | required | skip) ;;
    *) usage_error "FLEXCHAOS_PREFLIGHT=${FLEXCHAOS_PREFLIGHT} must be auto, required or skip" ;;
  esac
}

# --- the steps -------------------------------------------------------------------------------
summary_file() {  # where the step's Markdown summary goes: GitHub's, else one per step
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    echo "$GITHUB_STEP_SUMMARY"
  else
    echo "$WORK/job-summary-$STEP.md"
  fi
}

size_of() {  # bytes in a file, 0 when there is none
  if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi
}

new_summary() {  # this step's summary, empty: a kept work dir (a self-hosted agent) keeps no old one
  local file
  file=$(summary_file)
  mkdir -p "$(dirname "$file")"
  [ -n "${GITHUB_STEP_SUMMARY:-}" ] || : >"$file"
  echo "$file"
}

upload_summary() {
  local file=$1
  if $ON_AZURE_PIPELINES && [ -s "$file" ]; then
    echo "##vso[task.uploadsummary]$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
  fi
  return 0
}

run_preflight() {
  if [ "${FLEXCHAOS_PREFLIGHT:-auto}" = skip ]; then
    say "preflight skipped (FLEXCHAOS_PREFLIGHT=skip)"
    return 0
  fi
  if ! "$PY" -m flexchaos preflight --help >/dev/null 2>&1; then
    if [ "${FLEXCHAOS_PREFLIGHT:-auto}" = required ]; then
      usage_error "this flexchaos has no \`preflight\` command (FLEXCHAOS_PREFLIGHT=required)"
    fi
    say "this flexchaos has no \`preflight\` command; the game day's own checks run before its faults"
    return 0
  fi
  local -a experiments
  read -ra experiments <<<"$EXPERIMENTS"
  local out code summary
  out=$(mktemp)
  summary=$(new_summary)
  "$PY" -m flexchaos preflight --experiments "${experiments[@]}" "${FLEET_ARGS[@]}" 2>&1 | tee "$out"
  code=${PIPESTATUS[0]}
  {
    echo "## flexchaos preflight: $(category "$code"), exit ${code}"
    echo
    echo '```'
    tail -n 60 "$out"
    echo '```'
  } >>"$summary"
  rm -f "$out"
  upload_summary "$summary"
  annotate "$code" preflight
  return "$code"
}

run_gameday() {
  local -a extra=() report=()
  [ -n "${FLEXCHAOS_TARGETS:-}" ] && extra+=(--targets "$FLEXCHAOS_TARGETS")
  if [ -n "${FLEXCHAOS_ARGS:-}" ]; then
    local -a more
    read -ra more <<<"$FLEXCHAOS_ARGS"
    extra+=("${more[@]}")
  fi
  [ "${FLEXCHAOS_REPORT:-true}" = false ] && report=(--no-report)
  local summary before out code
  mkdir -p "$WORK"
  summary=$(new_summary)
  before=$(size_of "$summary")
  export GITHUB_STEP_SUMMARY=$summary  # the harness appends its summary here (reports/summary.py)
  out=$(mktemp)
  forwarding_signals "$out" "$PY" -m flexchaos gameday --experiments "$EXPERIMENTS" \
    --work-dir "$WORK" "${report[@]}" -- "${FLEET_ARGS[@]}" "${extra[@]}"
  code=$?
  if [ "$(size_of "$summary")" -le "$before" ]; then
    # nothing judged, so the harness wrote no summary (a design review alone, a crash): say
    # what the code means and show how the run ended
    {
      echo "## flexchaos game day: $(headline "$code")"
      echo
      echo "**$(meaning "$code")**"
      echo
      echo '```'
      tail -n 40 "$out"
      echo '```'
    } >>"$summary"
  fi
  rm -f "$out"
  upload_summary "$summary"
  annotate "$code" gameday
  return "$code"
}

forwarding_signals() {  # $1 a file for a copy of the output, then the command
  # A cancelled pipeline signals this script; the game day must get SIGTERM too, so that it
  # reverts its fault before it exits (a background job ignores SIGINT, so TERM for both).
  # The output goes to the file and is followed onto this step's log as it comes.
  local copy=$1 child follower code
  shift
  : >"$copy"
  "$@" >>"$copy" 2>&1 &
  child=$!
  tail -n +1 -f --pid="$child" "$copy" &
  follower=$!
  CANCELLED=false
  trap 'CANCELLED=true; kill -TERM "$child" 2>/dev/null' TERM INT
  while true; do
    wait "$child"
    code=$?
    kill -0 "$child" 2>/dev/null || break  # a signal ended the wait, not the child: wait again
  done
  trap - TERM INT
  wait "$follower" 2>/dev/null  # tail prints the rest and ends once the child is gone
  if $CANCELLED && [ "$code" -gt 128 ] && [ "$code" -ne 130 ]; then
    code=130  # killed by the signal before it could handle it: still a cancel, not a crash
  fi
  return "$code"
}

run_rollback() {
  "$PY" -m flexchaos rollback --work-dir "$WORK"
  local code=$?
  if [ "$code" = 0 ]; then
    annotate 0 rollback "no fault of this run is still in (the journal's entries are reverted)"
  else
    annotate "$code" rollback "a fault in the journal could not be reverted: read this step's\
 output, check the scale set by hand and run \`flexchaos rollback\` again"
  fi
  return "$code"
}

cd "$ROOT" || exit 4
case "$STEP" in
  preflight | gameday | rollback) ;;
  *) echo "usage: bash scripts/pipeline-gameday.sh preflight|gameday|rollback" >&2; exit 2 ;;
esac
check_input
sign_in
case "$STEP" in
  preflight) run_preflight ;;
  gameday) run_gameday ;;
  rollback) run_rollback ;;
esac
exit $?
