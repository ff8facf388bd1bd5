/* schedbench's load generator: an open-loop (wrk2-style) or closed-loop TCP echo client.
 *
 * Built on demand by bench/measure/loadgen.py (through cstub.py) with `cc -std=c99 -O2
 * -Wall -Wextra -lm`. bench/measure/loadgen_python.py is the same client in Python (the
 * reference for the command line and JSON); bench/measure/loadgen_contract.py defines
 * what both share on the wire: schedule, buckets, message bytes.
 *
 * Design, and why:
 * - One thread, non-blocking sockets, level-triggered epoll. The schedule is a timerfd
 *   armed at the next intended send (absolute CLOCK_MONOTONIC, timer slack lowered to
 *   1 ns), not an epoll timeout, whose millisecond unit would make sends up to 1 ms late.
 *   All sends due at a wake go out, one write per connection.
 * - Open loop: connection c of C sends message k at t0 + (k*C + c) * 1e9/R ns (constant)
 *   or after exponential gaps of mean C/R s from a splitmix64 stream seeded by (seed, c)
 *   (Poisson), whether or not earlier echoes came back. Latency runs from the INTENDED
 *   send time to the moment the whole echo was read: a stalled server (or a late client)
 *   is charged for every request it delayed, without coordinated omission. How late the
 *   client itself got to each send is the schedule lag, reported apart (p99, max).
 * - Open loop: at most --pipeline messages outstanding per connection (default 1, as wrk2
 *   does: a message that falls due while its connection's previous echo is still out waits
 *   in the client, its latency still counted from its intended time, so the queue a slow
 *   server causes is charged to it). 0 = unbounded: every message goes out on schedule, and
 *   a server that falls behind reads many per call (batching the client cannot see).
 * - Open loop measures the messages intended in [t0+W, t0+W+D), then waits up to --drain s
 *   for their echoes; a message still queued in the client then is recorded at the latency
 *   it had reached (a lower bound) and counted as backlog, not as an error. The ones then in
 *   flight were sent a moment ago (the queue moves one echo at a time): no more are sent,
 *   and those get another --drain s before an unanswered one is the server's error. Closed loop
 *   (--mode closed) keeps --pipeline messages outstanding per connection, measures the
 *   echoes completed in the window, latency from the actual send.
 * - Every echoed byte is compared, in order (per-connection FIFO), with what it must be
 *   (message(): a header k | c<<48, then a pattern shifted by k), so a flipped, lost,
 *   shifted or foreign byte makes its message corrupt. Contents are regenerated, never
 *   stored: per connection there is only a ring of intended times.
 * - Latencies: a log-linear histogram, 128 sub-buckets per power of two (HDR with 2
 *   significant digits): exact below 256 ns, at most 0.8 % wide above, up to 2^38 ns.
 * - With --spin-us, polls instead of sleeping when the next send is near (see run()).
 * - CPU: getrusage and /proc/self/schedstat (run-queue wait) at the window's edges.
 * - With --timeline 1, echoes completed per millisecond since t0 (CLOCK_MONOTONIC, which
 *   every process shares): what another process's measurement over part of the run (strace
 *   attached to the server) divides by.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SUB 128
#define NBUCKETS 4096 /* 256 exact, then 128 per octave for octaves 2^8 .. 2^37 */
#define RBUF (64 * 1024)
#define WBUF (256 * 1024)
#define MAXEV 512
#define TIMER_TAG UINT64_MAX
#define IDLE_CAP_NS 20000 /* an idle poll takes ~1 us: a longer one was preempted, not idle */

typedef struct { uint64_t counts[NBUCKETS], total; int64_t min, max; } hist_t;
typedef struct { int64_t wall, cpu, runq, nivcsw; int runq_ok; } snap_t;
enum { OPEN = 1, DEAD };

typedef struct {
    int fd, state, out_armed, dirty;
    uint32_t idx;
    uint64_t queued;           /* messages handed to this connection so far */
    uint64_t wseq, rseq;       /* next message to write / to read back ... */
    size_t woff, roff;         /* ... and how many of its bytes are done */
    int rbad;                  /* the message being read back had a wrong byte */
    int64_t *times;            /* ring: intended times of messages rseq .. queued-1 */
    uint64_t cap;              /* its capacity, a power of two */
    int64_t next_t, last_off;  /* open loop: next intended time; its offset from t0 */
    uint64_t k, rng, digest;   /* schedule events made, Poisson stream, schedule hash */
} conn_t;

static struct {
    const char *host, *port, *arrival, *mode;
    long conns, size, pipeline, cpu, inflight; /* inflight: open-loop cap (0 = none) */
    double rate, duration, warmup, drain, connect_timeout;
    uint64_t seed;
    int closed, poisson;
    int64_t spin_ns;
} opt = {"127.0.0.1", NULL, "constant", "open", 1, 64, 1, -1, 1, 0, 1, 0, 2.0, 5.0, 0, 0, 0, 0};

static conn_t *conns, **heap, **dirty;
static long heap_n, dirty_n;
static uint8_t *base, rbuf[RBUF], wbuf[WBUF];
static hist_t lat, lag;
static int ep, tfd, window_open, window_done, stop_writes;
static int64_t t0, warm_end, end_t, now_ns, armed = -1;
static uint64_t n_connected, n_scheduled, n_sent, n_received, n_verified, bytes_verified, writes_in_window;
static uint64_t e_connect, e_reset, e_corrupt, e_extra, e_short, e_unanswered, e_unsent, outstanding, backlog;
static snap_t s_start, s_end, s_run0;
static int64_t idle_ns; /* time of polls that found nothing to do, in the window */
static uint32_t *timeline; /* --timeline: echoes completed in each millisecond since t0 */
static int64_t timeline_n;

static int64_t mono(void) {
    struct timespec ts;
    return clock_gettime(CLOCK_MONOTONIC, &ts), ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static size_t minz(size_t a, size_t b) { return a < b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int in_window(int64_t t) { return t >= warm_end && t < end_t; }
static void die(const char *what) { fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno)); exit(1); }

static void usage(const char *why) { fprintf(stderr, "loadgen: %s (options: see loadgen_python.py)\n", why); exit(2); }

/* ---- histogram -------------------------------------------------------------------------- */
static int bucket_of(int64_t v) {
    if (v < 256) return v < 0 ? 0 : (int)v;
    if (v >= ((int64_t)1 << 38)) return NBUCKETS - 1;
    int e = 63 - __builtin_clzll((unsigned long long)v) - 7;
    return SUB * e + (int)(v >> e);
}

static void bucket_bounds(int i, int64_t *lo, int64_t *hi) {
    int e = i < 256 ? 0 : i / SUB - 1; /* i - SUB*e: the bucket's lowest value >> e */
    *lo = (int64_t)(i - SUB * e) << e, *hi = (int64_t)(i - SUB * e + 1) << e;
}

static void hist_add(hist_t *h, int64_t v) {
    h->counts[bucket_of(v = v < 0 ? 0 : v)]++;
    if (h->total == 0 || v < h->min) h->min = v;
    if (h->total++ == 0 || v > h->max) h->max = v;
}

/* The highest value of the bucket holding rank ceil(q*n), capped by the true maximum. */
static int64_t hist_quantile(const hist_t *h, double q) {
    uint64_t rank = (uint64_t)ceil(q * (double)h->total), seen = 0;
    for (int i = 0; i < NBUCKETS && h->total; i++)
        if ((seen += h->counts[i]) >= (rank ? rank : 1)) {
            int64_t lo, hi;
            bucket_bounds(i, &lo, &hi);
            return min64(hi - 1, h->max);
        }
    return h->max;
}

/* ---- messages and schedule -------------------------------------------------------------- */
/* Regenerate (dst) or check (p, returning how many bytes differ) bytes off.. of message seq. */
static size_t message(const conn_t *c, uint64_t seq, size_t off, uint8_t *dst, const uint8_t *p, size_t n) {
    uint64_t hdr = seq | ((uint64_t)c->idx << 48);
    uint8_t s = (uint8_t)seq;
    size_t bad = 0;
    for (size_t j = 0; j < n; j++, off++) {
        uint8_t b = off < 8 ? (uint8_t)(hdr >> (8 * off)) : (uint8_t)(base[off] + s);
        if (dst) dst[j] = b; else bad += p[j] != b;
    }
    return bad;
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, int64_t v) {
    for (int i = 0; i < 8; i++) h = (h ^ (((uint64_t)v >> (8 * i)) & 0xFF)) * 0x100000001B3ULL;
    return h;
}

/* The offset from t0 (ns) of this connection's next intended send. The operations and
 * their order are loadgen_contract.schedule_offsets': the same seed gives the same ns. */
static int64_t sched_next(conn_t *c) {
    if (opt.poisson) {
        double u = ((double)(splitmix(&c->rng) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
        c->last_off += (int64_t)(-log(u) * ((double)opt.conns * 1e9 / opt.rate));
    } else {
        c->last_off = (int64_t)((double)(c->k * (uint64_t)opt.conns + c->idx) * 1e9 / opt.rate);
    }
    c->k++;
    return c->last_off;
}

/* ---- the heap of connections by next intended send -------------------------------------- */
static void heap_swap(long a, long b) { conn_t *t = heap[a]; heap[a] = heap[b]; heap[b] = t; }

static void heap_down(long i) {
    for (long m = i;; i = m) {
        long l = 2 * i + 1, r = l + 1;
        if (l < heap_n && heap[l]->next_t < heap[m]->next_t) m = l;
        if (r < heap_n && heap[r]->next_t < heap[m]->next_t) m = r;
        if (m == i) return;
        heap_swap(i, m);
    }
}

/* ---- connections ------------------------------------------------------------------------ */
static void ring_push(conn_t *c, int64_t t) {
    if (c->queued - c->rseq == c->cap) { /* full: double it */
        uint64_t cap = c->cap ? c->cap * 2 : 64;
        int64_t *times = malloc(cap * sizeof *times);
        if (!times) die("out of memory for outstanding messages");
        for (uint64_t s = c->rseq; s < c->queued; s++) times[s & (cap - 1)] = c->times[s & (c->cap - 1)];
        free(c->times), c->times = times, c->cap = cap;
    }
    c->times[c->queued++ & (c->cap - 1)] = t;
}

static int64_t intended(const conn_t *c, uint64_t seq) { return c->times[seq & (c->cap - 1)]; }

static void set_events(conn_t *c, int out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u64 = c->idx};
    if (c->out_armed != out && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0) c->out_armed = out;
}

/* The server closed or reset: its unanswered measured messages are counted, it is closed. */
static void conn_fail(conn_t *c) {
    if (c->state != OPEN) return;
    e_reset++, e_short += c->roff > 0;
    for (uint64_t s = c->rseq; !opt.closed && s < c->queued; s++)
        if (in_window(intended(c, s))) { e_unanswered++; outstanding--; }
    close(c->fd), c->state = DEAD; /* closing also leaves the epoll set */
}

static void wrote(conn_t *c, size_t n) {
    while (n > 0) {
        size_t take = minz((size_t)opt.size - c->woff, n);
        c->woff += take, n -= take;
        if (c->woff < (size_t)opt.size) break;
        n_sent += (uint64_t)in_window(opt.closed ? now_ns : intended(c, c->wseq));
        writes_in_window += (uint64_t)in_window(now_ns);
        c->wseq++, c->woff = 0;
    }
}

/* The messages a connection may have written by now: all it was handed, or (a capped open
 * loop) no more than --pipeline beyond the last echo read back. */
static uint64_t write_limit(const conn_t *c) {
    if (stop_writes) return c->wseq + (c->woff > 0); /* finish a message begun, start none */
    if (opt.closed || opt.inflight == 0) return c->queued;
    return c->queued < c->rseq + (uint64_t)opt.inflight ? c->queued : c->rseq + (uint64_t)opt.inflight;
}

static void flush(conn_t *c) {
    c->dirty = 0;
    uint64_t limit = write_limit(c);
    while (c->state == OPEN && c->wseq < limit) {
        size_t len = 0, off = c->woff;
        for (uint64_t s = c->wseq; len < WBUF && s < limit; s++, off = 0) {
            size_t take = minz((size_t)opt.size - off, WBUF - len);
            message(c, s, off, wbuf + len, NULL, take);
            len += take;
        }
        ssize_t n = send(c->fd, wbuf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { conn_fail(c); return; }
        if (n > 0) wrote(c, (size_t)n);
        if (n < 0 || (size_t)n < len) { set_events(c, 1); return; } /* the socket buffer is full */
    }
    if (c->state == OPEN) set_events(c, 0);
}

static void completed(conn_t *c, int64_t now) {
    int64_t t = intended(c, c->rseq), ms = (now - t0) / 1000000;
    if (timeline && ms >= 0 && ms < timeline_n) timeline[ms]++;
    e_corrupt += (uint64_t)c->rbad; /* in any phase: a server that corrupts is broken */
    if (opt.closed ? in_window(now) : in_window(t)) {
        n_received++, n_verified += (uint64_t)!c->rbad;
        hist_add(&lat, now - t);
        outstanding -= (uint64_t)!opt.closed;
    }
    c->rseq++, c->roff = 0, c->rbad = 0;
    if (opt.closed && now < end_t) { ring_push(c, now); c->dirty = 1; }
    if (!opt.closed && c->wseq < c->queued) c->dirty = 1; /* a message waited for this echo */
}

static void on_readable(conn_t *c) {
    size_t S = (size_t)opt.size;
    while (c->state == OPEN) {
        ssize_t n = recv(c->fd, rbuf, RBUF, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) { conn_fail(c); break; } /* closed or reset by the server */
        int64_t now = now_ns = mono(); /* the moment the bytes were in hand: the echo's end */
        const uint8_t *p = rbuf;
        for (size_t left = (size_t)n; left > 0;) {
            /* The echo can never run ahead of what was written. */
            size_t echoable = c->rseq < c->wseq ? S - c->roff : (c->woff > c->roff ? c->woff - c->roff : 0);
            if (echoable == 0) { e_extra += left; break; }
            size_t take = minz(left, echoable), bad = message(c, c->rseq, c->roff, NULL, p, take);
            c->rbad |= bad > 0, bytes_verified += take - bad;
            c->roff += take, p += take, left -= take;
            if (c->roff == S) completed(c, now);
        }
        if (n < RBUF) break; /* level-triggered: epoll reports what is left */
    }
    if (c->dirty) flush(c);
}

/* ---- set-up ----------------------------------------------------------------------------- */
/* Blocking connects bounded by SO_SNDTIMEO (Linux honours it for connect): simpler than
 * non-blocking ones, and a loopback or LAN connect takes microseconds. */
static void open_connections(void) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(opt.host, opt.port, &hints, &ai), one = 1;
    if (rc != 0) fprintf(stderr, "loadgen: cannot resolve %s:%s: %s\n", opt.host, opt.port, gai_strerror(rc)), exit(1);
    struct timeval tv = {.tv_sec = (time_t)opt.connect_timeout,
                         .tv_usec = (suseconds_t)((opt.connect_timeout - floor(opt.connect_timeout)) * 1e6)};
    for (long i = 0; i < opt.conns; i++) {
        conn_t *c = &conns[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        c->state = DEAD;
        c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* on -1: fails, harmless */
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0 || fcntl(c->fd, F_SETFL, O_NONBLOCK) != 0
            || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) { close(c->fd); e_connect++; continue; }
        c->state = OPEN;
        n_connected++;
    }
    freeaddrinfo(ai);
}

static snap_t snapshot(void) {
    snap_t s = {.wall = mono()};
    struct rusage ru;
    long long run, wait;
    getrusage(RUSAGE_SELF, &ru);
    s.cpu = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000
            + ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
    s.nivcsw = ru.ru_nivcsw;
    FILE *fp = fopen("/proc/self/schedstat", "r"); /* ns on a CPU, ns waiting for one, slices */
    if (fp && (s.runq_ok = fscanf(fp, "%lld %lld", &run, &wait) == 2)) s.runq = wait;
    if (fp) fclose(fp);
    return s;
}

static void arm(int64_t deadline) {
    struct itimerspec its = {.it_value = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000}};
    if (deadline != armed && timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) die("timerfd_settime");
    armed = deadline;
}

/* Messages written (or begun) and not yet answered, over every open connection. */
static int in_flight_written(void) {
    for (long i = 0; i < opt.conns; i++)
        if (conns[i].state == OPEN && (conns[i].wseq > conns[i].rseq || conns[i].woff > 0)) return 1;
    return 0;
}

/* ---- the run ---------------------------------------------------------------------------- */
static void run(void) {
    struct epoll_event evs[MAXEV];
    int64_t drain_end = INT64_MAX;
    t0 = now_ns = mono();
    warm_end = t0 + (int64_t)(opt.warmup * 1e9);
    end_t = warm_end + (int64_t)(opt.duration * 1e9);
    for (long i = 0; i < opt.conns; i++) {
        conn_t *c = &conns[i];
        if (opt.closed) {
            for (long p = 0; p < opt.pipeline && c->state == OPEN; p++) ring_push(c, t0);
            flush(c);
        } else if ((c->next_t = t0 + sched_next(c)) < end_t) {
            heap[heap_n++] = c;
        }
    }
    for (long i = heap_n / 2 - 1; i >= 0; i--) heap_down(i); /* heapify */
    for (;;) {
        now_ns = mono();
        if (!window_open && now_ns >= warm_end) { s_start = snapshot(); window_open = 1; }
        int fired = heap_n > 0 && heap[0]->next_t <= now_ns;
        while (heap_n > 0 && heap[0]->next_t <= now_ns) { /* every send due by now */
            conn_t *c = heap[0];
            int64_t t = c->next_t;
            int measured = in_window(t);
            n_scheduled += (uint64_t)measured;
            if (c->state == OPEN) {
                ring_push(c, t);
                outstanding += (uint64_t)measured;
                if (measured) hist_add(&lag, now_ns - t);
                if (!c->dirty) { c->dirty = 1; dirty[dirty_n++] = c; } /* one write per connection */
            } else {
                e_unsent += (uint64_t)measured;
            }
            c->digest = fnv(c->digest, c->last_off);
            if ((c->next_t = t0 + sched_next(c)) >= end_t) heap_swap(0, --heap_n);
            heap_down(0);
        }
        while (dirty_n > 0) flush(dirty[--dirty_n]);
        /* Only now: every send due before the end has been made, however late the wake. */
        if (!window_done && now_ns >= end_t)
            s_end = snapshot(), window_done = 1, drain_end = now_ns + (int64_t)(opt.drain * 1e9);
        if (window_done && (opt.closed || outstanding == 0 || (stop_writes && !in_flight_written()))) break;
        if (window_done && now_ns >= drain_end) {
            if (stop_writes || opt.inflight == 0) break;
            /* Backlog left: send no more, give the messages in flight their own drain. */
            stop_writes = 1, drain_end = now_ns + (int64_t)(opt.drain * 1e9);
            if (!in_flight_written()) break;
        }
        int64_t deadline = window_open ? (window_done ? drain_end : end_t) : warm_end;
        deadline = heap_n > 0 ? min64(deadline, heap[0]->next_t) : deadline;
        /* Poll, not sleep, when the next send is under --spin-us away (closed loop: always): a VM
         * charges ~20 us of CPU per sleep and wake. Polls that find nothing count as idle (spare). */
        int spin = opt.spin_ns > 0 && (opt.closed || deadline - now_ns <= opt.spin_ns);
        if (!spin) arm(deadline);
        int n = epoll_wait(ep, evs, MAXEV, spin ? 0 : -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        if (n <= 0 && spin && !fired && window_open && !window_done) idle_ns += min64(mono() - now_ns, IDLE_CAP_NS);
        for (int j = 0; j < n; j++) {
            if (evs[j].data.u64 == TIMER_TAG) { /* read: a spinning loop does not re-arm it */
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) die("read timerfd");
                armed = -1;
                continue;
            }
            conn_t *c = &conns[evs[j].data.u64];
            if (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
            if ((evs[j].events & EPOLLOUT) && c->state == OPEN) { now_ns = mono(); flush(c); }
        }
    }
    /* Written and never answered: the server's fault. Never written (waiting in the client
     * behind an unanswered one): backlog, at the latency it had reached. */
    int64_t last = mono();
    for (long i = 0; i < opt.conns && !opt.closed; i++)
        for (uint64_t s = conns[i].rseq; conns[i].state == OPEN && s < conns[i].queued; s++) {
            if (!in_window(intended(&conns[i], s))) continue;
            if (s < conns[i].wseq || (s == conns[i].wseq && conns[i].woff > 0)) e_unanswered++;
            else backlog++, hist_add(&lat, last - intended(&conns[i], s));
        }
}

/* ---- output ----------------------------------------------------------------------------- */
static void report(void) {
    struct rusage ru;
    uint64_t digest = 0xCBF29CE484222325ULL;
    getrusage(RUSAGE_SELF, &ru);
    for (long i = 0; i < opt.conns; i++) digest = fnv(digest, (int64_t)conns[i].digest);
    s_start = window_open ? s_start : s_run0, s_end = window_done ? s_end : snapshot();
    printf("{\"client\":\"c\",\"mode\":\"%s\",\"arrival\":\"%s\",\"connections\":%ld,\"size\":%ld,\"rate\":%.17g,"
           "\"warmup_s\":%.17g,\"duration_s\":%.17g,\"pipeline\":%ld,\"backlog\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"connected\":%" PRIu64
           ",\"scheduled\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"verified\":%" PRIu64
           ",\"bytes_verified\":%" PRIu64 ",\"achieved_rate\":%.17g,", opt.mode, opt.arrival, opt.conns, opt.size,
           opt.rate, opt.warmup, opt.duration, opt.closed ? opt.pipeline : opt.inflight, backlog, opt.seed, n_connected, n_scheduled, n_sent,
           n_received, n_verified, bytes_verified, (double)(opt.closed ? n_received : writes_in_window) / opt.duration);
    printf("\"errors\":{\"connect\":%" PRIu64 ",\"reset\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"extra_bytes\":%"
           PRIu64 ",\"short\":%" PRIu64 ",\"unanswered\":%" PRIu64 ",\"unsent\":%" PRIu64 "},\"min_ns\":%" PRId64
           ",\"max_ns\":%" PRId64 ",\"histogram\":[", e_connect, e_reset, e_corrupt, e_extra, e_short,
           e_unanswered, e_unsent, lat.min, lat.max);
    for (int i = 0, first = 1; i < NBUCKETS; i++)
        if (lat.counts[i]) {
            int64_t lo, hi;
            bucket_bounds(i, &lo, &hi);
            printf("%s[%" PRId64 ",%" PRId64 ",%" PRIu64 "]", first ? "" : ",", lo, hi, lat.counts[i]), first = 0;
        }
    printf("],\"lag_p99_ns\":%" PRId64 ",\"lag_max_ns\":%" PRId64 ",\"cpu_user_s\":%.6f,\"cpu_sys_s\":%.6f,"
           "\"wall_s\":%.6f,\"window_wall_s\":%.6f,\"window_cpu_s\":%.6f,", hist_quantile(&lag, 0.99), lag.max,
           (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, (double)ru.ru_stime.tv_sec
           + ru.ru_stime.tv_usec / 1e6, (double)(mono() - s_run0.wall) / 1e9,
           (double)(s_end.wall - s_start.wall) / 1e9, (double)(s_end.cpu - s_start.cpu) / 1e9);
    if (s_start.runq_ok && s_end.runq_ok)
        printf("\"window_runqueue_s\":%.6f,", (double)(s_end.runq - s_start.runq) / 1e9);
    else printf("\"window_runqueue_s\":null,"); /* no schedstat in this kernel */
    printf("\"window_idle_s\":%.6f,\"window_involuntary_switches\":%" PRId64 ",\"schedule_digest\":\"%016" PRIx64
           "\"", (double)idle_ns / 1e9, s_end.nivcsw - s_start.nivcsw, digest);
    if (timeline) {
        int64_t last = timeline_n;
        while (last > 0 && timeline[last - 1] == 0) last--;
        printf(",\"t0_ns\":%" PRId64 ",\"completions_per_ms\":[", t0);
        for (int64_t i = 0; i < last; i++) printf("%s%" PRIu32, i ? "," : "", timeline[i]);
        printf("]");
    }
    printf("}\n");
}

/* ---- main ------------------------------------------------------------------------------- */
static double num(const char *name, const char *v, double lo, double hi) {
    char *end;
    double x = (errno = 0, strtod(v, &end));
    if (!errno && !*end && end != v && x >= lo && x <= hi) return x;
    fprintf(stderr, "loadgen: %s %s: expected a number in %g..%g\n", name, v, lo, hi);
    exit(2);
}

static uint64_t u64(const char *name, const char *v) {
    char *end;
    uint64_t x = (errno = 0, strtoull(v, &end, 10));
    if (!errno && !*end && end != v && *v != '-') return x;
    fprintf(stderr, "loadgen: %s %s: expected an integer in 0..2^64-1\n", name, v);
    exit(2);
}

static void parse(int argc, char **argv) {
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage("every option takes a value");
        if (!strcmp(k, "--host")) opt.host = v;
        else if (!strcmp(k, "--port")) { num(k, v, 1, 65535); opt.port = v; }
        else if (!strcmp(k, "--connections")) opt.conns = (long)num(k, v, 1, 65535);
        else if (!strcmp(k, "--size")) opt.size = (long)num(k, v, 1, 1 << 20);
        else if (!strcmp(k, "--rate")) opt.rate = num(k, v, 0, 1e9);
        else if (!strcmp(k, "--duration")) opt.duration = num(k, v, 1e-3, 1e6);
        else if (!strcmp(k, "--warmup")) opt.warmup = num(k, v, 0, 1e6);
        else if (!strcmp(k, "--drain")) opt.drain = num(k, v, 0, 1e6);
        else if (!strcmp(k, "--connect-timeout")) opt.connect_timeout = num(k, v, 0, 1e6);
        else if (!strcmp(k, "--spin-us")) opt.spin_ns = (int64_t)(num(k, v, 0, 1e6) * 1e3);
        else if (!strcmp(k, "--cpu")) opt.cpu = (long)num(k, v, -1, CPU_SETSIZE - 1);
        else if (!strcmp(k, "--pipeline")) opt.pipeline = opt.inflight = (long)num(k, v, 0, 1 << 16);
        else if (!strcmp(k, "--arrival")) opt.arrival = v;
        else if (!strcmp(k, "--mode")) opt.mode = v;
        else if (!strcmp(k, "--seed")) opt.seed = u64(k, v);
        else if (!strcmp(k, "--timeline")) timeline_n = (int64_t)num(k, v, 0, 1); /* sized in main */
        else usage("unknown option");
    }
    if (!opt.port) usage("--port is required");
    if (strcmp(opt.arrival, "constant") && strcmp(opt.arrival, "poisson")) usage("--arrival: constant|poisson");
    if (strcmp(opt.mode, "open") && strcmp(opt.mode, "closed")) usage("--mode: open|closed");
    opt.closed = !strcmp(opt.mode, "closed"), opt.poisson = !strcmp(opt.arrival, "poisson");
    if (opt.closed && opt.pipeline < 1) usage("--pipeline must be at least 1 in closed loop");
    if (!opt.closed && !(opt.rate > 0)) usage("--rate must be positive in open loop");
}

int main(int argc, char **argv) {
    struct rlimit rl;
    parse(argc, argv);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the harness */
    prctl(PR_SET_TIMERSLACK, 1UL);    /* wake at the intended send, not up to 50 us after */
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)opt.cpu, &set);
    if (opt.cpu >= 0 && sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
    /* One descriptor per connection. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt.conns + 16)
        rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl);
    if (!(conns = calloc((size_t)opt.conns, sizeof *conns)) || !(heap = calloc((size_t)opt.conns, sizeof *heap))
        || !(dirty = calloc((size_t)opt.conns, sizeof *dirty)) || !(base = malloc((size_t)opt.size))) die("calloc");
    for (long i = 0; i < opt.size; i++) base[i] = (uint8_t)(7 * i + (i >> 8));
    for (long i = 0; i < opt.conns; i++)
        conns[i].idx = (uint32_t)i, conns[i].digest = 0xCBF29CE484222325ULL,
        conns[i].rng = opt.seed ^ ((uint64_t)(i + 1) * 0xD1B54A32D192ED03ULL);
    if (timeline_n) { /* the whole run, drain included, in ms */
        timeline_n = (int64_t)((opt.warmup + opt.duration + opt.drain) * 1000) + 1000;
        if (!(timeline = calloc((size_t)timeline_n, sizeof *timeline))) die("calloc timeline");
    }
    ep = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
    if (ep < 0 || tfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) != 0) die("epoll/timerfd");
    s_run0 = snapshot();
    open_connections();
    if (n_connected > 0) run();
    report();
    return 0;
}
