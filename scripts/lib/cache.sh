# Sourced by the scripts: where scripts/stack.sh keeps its tools, written once.
# CACHE (VERICODE_CACHE, default ~/.cache/vericode), VENV (Python: moto,
# cfn-lint, schemathesis, PyJWT), NODE_MODULES (playwright-core, altcha-lib).
CACHE="${VERICODE_CACHE:-$HOME/.cache/vericode}"
VENV="$CACHE/venv"
NODE_MODULES="$CACHE/node/node_modules"
