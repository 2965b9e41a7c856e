#!/bin/sh
# Installs the Python client without network access and runs its tests
# against the real credd. Run from anywhere; needs go, python3 and pip.
set -eu
cd "$(dirname "$0")/.."

if ! python3 -c 'import wheel' 2>/dev/null; then
	if ! ls /usr/share/python-wheels/wheel-*.whl >/dev/null 2>&1; then
		apt-get install -y python3-wheel-whl >/dev/null ||
			{ apt-get update >/dev/null && apt-get install -y python3-wheel-whl >/dev/null; }
	fi
	python3 -m pip install --no-index /usr/share/python-wheels/wheel-*.whl
fi
python3 -m pip install --no-index --no-build-isolation ./python
(cd / && python3 -c 'import airtrain_cred; print("installed", airtrain_cred.__version__, "at", airtrain_cred.__file__)')

python3 -m unittest discover -s python/tests -v
