# Sourced by the scripts that need Python tools (moto's server, cfn-lint, the SAM CLI): one
# virtual environment under target/, created on first use, so nothing is installed into the
# system's Python (PEP 668 refuses that on Debian and Ubuntu). Usage: `python_env PACKAGE...`.
python_env() {
  local venv="${PYTHON_ENV:-target/venv}"
  if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      echo "could not create a Python virtual environment: install python3-venv (apt install python3-venv)" >&2
      return 1
    fi
  fi
  # Installs only what is missing; pip stays inside the environment (PIP_REQUIRE_VIRTUALENV holds).
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  export PATH="$PWD/$venv/bin:$PATH"
}
