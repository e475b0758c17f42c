/* clock.c: the engine's two clocks: wall time for records, monotonic for waits. */
#include "config.h"

#include <stdint.h>
#include <time.h>

#include "xfer-int.h"

/* Milliseconds since the epoch. */
int64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds of the monotonic clock: intervals that a clock jump cannot stretch. */
time_t
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}
