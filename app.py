"""npp's Gradio app: `python app.py` (also what a Hugging Face Space runs).

The page is built by `npp.ui.build(services)`; importing this module builds it without loading
any model (Gradio's reload mode and tests import it), and `services.start()` loads the models
before the server opens. Environment: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT; NPP_PUBLIC=1
switches training off and caps uploads (on by default on a Hugging Face Space, `NPP_PUBLIC=0`
opts in: `npp.hosting`); NPP_DATA_DIRS lists the server photo folders the Train
tab may use; NPP_JOBS_DIR keeps job folders (default runs/app-jobs); NPP_PRECOMPUTE=0 skips
precomputing the example photos at start-up; NPP_CONCURRENCY (default 2) compares run at once,
NPP_QUEUE_MAX (default 100) requests may wait."""
from __future__ import annotations

import logging
import signal
import sys

from npp.ui import Services, build
from npp.ui.blocks import launch_options, queue_options

services = Services.from_env()
demo = build(services)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # SIGTERM (a service manager, a test) exits cleanly: atexit removes temp files and stops jobs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    services.start()
    demo.queue(**queue_options()).launch(**launch_options(services))
