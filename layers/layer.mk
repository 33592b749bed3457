# The build of a Python layer, shared by layers/*/Makefile. `sam build` runs a layer's
# build-<LayerLogicalId> target (BuildMethod: makefile) in a copy of the layer's folder, with
# ARTIFACTS_DIR set to the layer's build folder; a Python layer's files go under python/, which
# Lambda puts on the import path.
#
# What the python3.11 build method does (pip install of requirements.txt for Lambda's platform),
# plus bytecode: Lambda's file system is read-only, so a layer without .pyc files compiles its
# sources again at every cold start. unchecked-hash: the .pyc files are used without comparing
# them with the sources' timestamps, which a zip does not keep exactly.
PYTHON ?= python3.11
PIP_FOR_LAMBDA = $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
	--only-binary=:all: --platform manylinux2014_x86_64 --implementation cp --python-version 3.11

.PHONY: python-layer
python-layer:
	test -n "$(ARTIFACTS_DIR)"
	mkdir -p "$(ARTIFACTS_DIR)/python/image_service"
	cp image_service/*.py "$(ARTIFACTS_DIR)/python/image_service/"
	$(PIP_FOR_LAMBDA) --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	$(PYTHON) -m compileall -q --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"
