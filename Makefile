# The two commands of the README, and their parts.
#   make demo   install deps, build, fetch data, train the default model if missing,
#               run wna_mpi on 2 ranks with configs/demo.ini, render the report
#   make test   install deps, build, fetch data, run every test (ctest)
BUILD_DIR ?= build
DATA_DIR  ?= data
JOBS      ?= $(shell nproc)
MPIEXEC   ?= mpiexec
PYTHON    ?= /usr/bin/python3
# Open MPI refuses root and more ranks than cores unless told; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

DEMO_MODEL := models/lenet_mnist_demo.pt

.PHONY: deps data build test demo docs clean
deps:
	bash scripts/install_deps.sh

data: deps
	bash scripts/fetch_data.sh $(DATA_DIR)

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DWNA_TEST_DATA_DIR=$(abspath $(DATA_DIR))
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build data
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j 2 --timeout 900

# Trained once; delete the file to retrain.
$(DEMO_MODEL): | build data
	$(BUILD_DIR)/wna_train configs/train/demo.ini --set train.output=$@

demo: build data $(DEMO_MODEL)
	mkdir -p out
	$(MPIEXEC) -n 2 $(BUILD_DIR)/wna_mpi configs/demo.ini --set model.file=$(DEMO_MODEL)
	$(PYTHON) analysis_scripts/report.py out/demo.h5 --out out/demo_report
	@echo "demo: archive out/demo.h5, report out/demo_report/report.html (and report.md)"

docs: build
	bash scripts/update_config_docs.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
