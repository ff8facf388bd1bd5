/*
 * _schedbench_callgrind: the Callgrind switch around one ``scheduler.run``.
 *
 * Built on demand by bench/measure/valgrind.py (gcc, into a cache directory keyed
 * by the Python version and a hash of this file), never by setuptools: installing
 * schedbench must keep working on machines without a compiler; without one the
 * instruction counter falls back to the difference method.
 *
 * Each function is a handful of Valgrind client requests: special no-op instruction
 * sequences that cost a few instructions natively and that Callgrind intercepts when the
 * process runs under it. So the probe adds a constant, tiny amount to the count (the
 * return path of start() and the entry of stop()), nothing per resume.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <valgrind/callgrind.h>

/* Zero the counters (nothing should have been collected: the child runs with
 * --instr-atstart=no, but a stray earlier start must not leak into this region), then
 * switch instrumentation on. With --collect-atstart=yes collection is on as soon as
 * instrumentation is. */
static PyObject *
start(PyObject *module, PyObject *unused)
{
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
    Py_RETURN_NONE;
}

/* Dump first, then switch instrumentation off. The other order also keeps the per-
 * function costs ("totals:"), but switching off unwinds Callgrind's call stacks and
 * zeroes its running sum, so the dump's "summary:" line reads 0 and annotating tools
 * show percentages of nothing (measured with Valgrind 3.19). Either order counts the
 * same region to within a few dozen instructions. */
static PyObject *
stop(PyObject *module, PyObject *unused)
{
    CALLGRIND_DUMP_STATS_AT("run");
    CALLGRIND_STOP_INSTRUMENTATION;
    Py_RETURN_NONE;
}

/* True under any Valgrind tool: the child reports it, so a count of 0 because the
 * process was not really under Valgrind is caught instead of published. */
static PyObject *
running_on_valgrind(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(RUNNING_ON_VALGRIND ? 1 : 0);
}

static PyMethodDef methods[] = {
    {"start", start, METH_NOARGS, "Zero Callgrind's counters and start instrumentation."},
    {"stop", stop, METH_NOARGS, "Dump Callgrind's counters as part \"run\", stop instrumentation."},
    {"running_on_valgrind", running_on_valgrind, METH_NOARGS, "Whether Valgrind runs this process."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_schedbench_callgrind",
    "Callgrind client requests around one scheduler.run (see bench/measure/instructions.py).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__schedbench_callgrind(void)
{
    return PyModule_Create(&module_def);
}
