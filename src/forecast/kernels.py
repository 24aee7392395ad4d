"""Warm kernels for the report run: one IPython kernel per worker process, reused notebook after notebook.

Starting a kernel and importing the scientific stack costs about 1.8 s of CPU per notebook,
half of a municipality report's cost; over the 34 annual reports that is half a minute of wall
time on two cores. So each worker of ``forecast report`` keeps one kernel and, before every
notebook, puts it back to the state of a fresh kernel that has run the warm-up imports:

- the user namespace, ``In``/``Out`` and the execution counter are cleared (IPython's
  ``reset(new_session=True)``): the first cell of every notebook is cell 1 again;
- open figures are closed, and matplotlib's rcParams, the warnings filters (and with them the
  "shown once" registries) and the working folder are restored to the warm-up snapshot.

What stays is what a fresh kernel would rebuild identically: imported modules and their pure
caches. A kernel that dies is replaced before the next notebook. ``forecast report
--fresh-kernels`` runs every notebook in its own new kernel instead, and a test checks that a
notebook gives the same outputs either way.

The first half of this module runs inside the kernel (imported by the warm-up and reset code);
the second half runs in the worker and imports Jupyter only when called.
"""
from __future__ import annotations

import os
import tempfile
import uuid

# ---- inside the kernel -------------------------------------------------------------------------

_SNAPSHOT: dict = {}

# The modules the report notebooks import; importing them once per worker is the point.
WARM_UP_IMPORTS = ("IPython.display", "matplotlib.pyplot", "pandas", "geopandas", "forecast.plots",
                   "forecast.rundata", "forecast.regions")


def warm_up() -> None:
    """Import what the notebooks import, then snapshot the state every notebook starts from."""
    import importlib
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    for name in WARM_UP_IMPORTS:
        importlib.import_module(name)
    # The kernel activates the inline backend (and turns matplotlib's interactive mode on) at
    # the first figure: do that here, so the snapshot below is the state after it.
    plt.figure()
    plt.close("all")
    _SNAPSHOT.update(rc=dict(matplotlib.rcParams), filters=list(warnings.filters), cwd=os.getcwd())


def reset() -> None:
    """Back to the warm-up state: a clean namespace, counter 1, no figures, the same settings."""
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    from IPython import get_ipython

    get_ipython().reset(new_session=True)
    plt.close("all")
    dict.update(matplotlib.rcParams, _SNAPSHOT["rc"])      # as matplotlib's own rc_context restores
    warnings.filters[:] = _SNAPSHOT["filters"]
    warnings._filters_mutated()                            # forget which warnings were already shown
    os.chdir(_SNAPSHOT["cwd"])


WARM_UP_CODE = "import forecast.kernels as _k\n_k.warm_up()\ndel _k"
RESET_CODE = "import forecast.kernels as _k\n_k.reset()"   # reset() clears the name _k itself


# ---- in the worker process ---------------------------------------------------------------------

def ipc_kernel_manager_class():
    """An AsyncKernelManager on IPC sockets under a path unique to the kernel: parallel kernels
    in parallel workers can never race for the same TCP port."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class IPCKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc")

        @default("ip")
        def _unique_ipc_path(self):
            return os.path.join(tempfile.gettempdir(), f"gp-{uuid.uuid4().hex[:16]}")

    return IPCKernelManager


class WarmKernel:
    """The worker's kernel: started on first use, reset between notebooks, replaced when dead."""

    def __init__(self, cwd: str, start_timeout: float = 120):
        self.cwd, self.start_timeout = cwd, start_timeout
        self.km = self.kc = None
        self.notebooks_run = 0          # notebooks this kernel ran before the current one
        self.output_path = ""           # where the running notebook goes (saved there if the kernel dies)

    def _alive(self) -> bool:
        from jupyter_core.utils import run_sync
        return self.km is not None and run_sync(self.km.is_alive)()

    def start(self) -> None:
        from jupyter_core.utils import run_sync
        km = ipc_kernel_manager_class()(kernel_name="python3")
        # The kernel's own stderr (e.g. "Parent appears to have exited" after Ctrl-C) is not the
        # user's: what a notebook prints reaches its report through the kernel's channels.
        import subprocess
        run_sync(km.start_kernel)(cwd=self.cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"],
                                  stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=self.start_timeout)
        except Exception:
            kc.stop_channels()
            run_sync(km.shutdown_kernel)(now=True)
            raise
        kc.allow_stdin = False
        self.km, self.kc, self.notebooks_run = km, kc, 0
        self.run(WARM_UP_CODE)

    def run(self, code: str, timeout: float = 120) -> None:
        """Execute ``code`` silently and wait until the kernel is idle again; raise on an error."""
        from jupyter_core.utils import run_sync
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        while True:
            reply = run_sync(self.kc.get_shell_msg)(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        while True:   # drain this request's iopub messages so the next notebook starts clean
            msg = run_sync(self.kc.get_iopub_msg)(timeout=timeout)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                break
        if reply["content"]["status"] != "ok":
            c = reply["content"]
            raise RuntimeError(f"kernel set-up failed: {c.get('ename')}: {c.get('evalue')}")

    def ready(self) -> None:
        """A kernel in the fresh state, for the next notebook."""
        if not self._alive():
            self.shutdown()
            self.start()
        else:
            self.run(RESET_CODE)
            self.notebooks_run += 1

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:   # already dead
                pass
        self.km = self.kc = None


_WARM: WarmKernel | None = None


def warm_kernel(cwd: str) -> WarmKernel:
    """This worker process's kernel (one per process)."""
    global _WARM
    if _WARM is None:
        from multiprocessing import util
        _WARM = WarmKernel(cwd)
        # shut the kernel down when the worker process ends (multiprocessing runs these finalizers)
        util.Finalize(_WARM, _WARM.shutdown, exitpriority=10)
    return _WARM


ENGINE_NAME = "gp-warm"


def register_engine() -> str:
    """Register (once per process) the papermill engine that runs a notebook in this worker's
    warm kernel; returns its name."""
    from papermill.engines import papermill_engines
    if ENGINE_NAME in papermill_engines._engines:
        return ENGINE_NAME
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            import logging
            wk = _WARM
            client = PapermillNotebookClient(nb_man, km=wk.km, timeout=execution_timeout,
                                             startup_timeout=start_timeout, kernel_name=kernel_name,
                                             log=logging.getLogger("papermill"), log_output=log_output,
                                             stdout_file=stdout_file, stderr_file=stderr_file)
            client.kc = wk.kc        # the kernel's own client: nbclient neither creates nor stops one
            try:
                return client.execute()
            except Exception:
                # papermill saves only at the end here (saving after every cell cost ~0.15 s a
                # notebook): keep what ran, with the cell that was running marked, for the error
                if wk.output_path:
                    from papermill.iorw import write_ipynb
                    nb_man.notebook_complete()
                    write_ipynb(nb_man.nb, wk.output_path)
                raise

    papermill_engines.register(ENGINE_NAME, WarmKernelEngine)
    return ENGINE_NAME
