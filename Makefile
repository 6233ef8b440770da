.PHONY: run test

# Runs the whole system on embedded defaults with demo data (Ctrl-C stops it).
run:
	bash scripts/run.sh

# Installs what the tests need, then runs every lint gate and every test.
test:
	bash scripts/test.sh
