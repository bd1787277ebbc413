"""npp's Gradio app: `python app.py` (also what a Hugging Face Space runs).

The page is built by `npp.ui.build(services)`; importing this module builds it without loading
any model (Gradio's reload mode and tests import it), and `services.start()` loads the models
before the server opens. Environment: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT; NPP_PUBLIC=1
switches training off and caps uploads; NPP_DATA_DIRS lists the server photo folders the Train
tab may use; NPP_JOBS_DIR keeps job folders (default runs/app-jobs)."""
from __future__ import annotations

import logging
import signal
import sys

from npp.ui import Services, build
from npp.ui.services import ASSETS

services = Services.from_env()
demo = build(services)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # SIGTERM (a service manager, a test) exits cleanly: atexit removes temp files and stops jobs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    services.start()
    demo.queue(default_concurrency_limit=2).launch(max_file_size=services.max_upload, allowed_paths=[str(ASSETS)])
