package manifests

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// Embedded IANA time zone database: time.LoadLocation then gives the
	// same answers on every host, with or without /usr/share/zoneinfo, so
	// a manifest that validates on one machine schedules on another.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// CronScheduleError is the error of ParseCronSchedule: the schedule (and
// time zone) that could not be parsed, and the parser's reason.
type CronScheduleError struct {
	Schedule string
	// TimeZone is the time zone the schedule was to be read in, nil for
	// the local time zone.
	TimeZone *string
	// Err is the reason, as the cron parser or time.LoadLocation gave it.
	Err error
}

// Error names the schedule and gives the reason.
func (e *CronScheduleError) Error() string {
	if e.TimeZone != nil {
		return fmt.Sprintf("invalid cron schedule %q in time zone %q: %v", e.Schedule, *e.TimeZone, e.Err)
	}
	return fmt.Sprintf("invalid cron schedule %q: %v", e.Schedule, e.Err)
}

// Unwrap returns the parser's reason.
func (e *CronScheduleError) Unwrap() error { return e.Err }

// ParseCronSchedule parses a CronJob schedule exactly as the Kubernetes
// CronJob controller does: with cron.ParseStandard from
// github.com/robfig/cron/v3, that is five fields (minute, hour, day of month,
// month, day of week) or a descriptor (@yearly, @annually, @monthly, @weekly,
// @daily, @midnight, @hourly, @every <duration>); Kubernetes validation
// accepts all of them. When timeZone is not nil the schedule is read in that
// IANA time zone (loaded with time.LoadLocation), as the controller does by
// prefixing "TZ=<timeZone> "; otherwise it is read in the local time zone of
// the process, like kube-controller-manager's.
//
// shoal's scheduler uses this same function to compute run times, and object
// validation (validateObject on a CronJob) uses it to check spec.schedule and
// spec.timeZone, so validation and scheduling can never disagree: a schedule
// accepted by validation is one the scheduler can run.
//
// Errors are *CronScheduleError values naming the schedule and wrapping the
// parser's (or time.LoadLocation's) reason.
func ParseCronSchedule(schedule string, timeZone *string) (cron.Schedule, error) {
	fail := func(err error) (cron.Schedule, error) {
		return nil, &CronScheduleError{Schedule: schedule, TimeZone: timeZone, Err: err}
	}
	spec := schedule
	if timeZone != nil {
		if _, err := time.LoadLocation(*timeZone); err != nil {
			return fail(err)
		}
		spec = "TZ=" + *timeZone + " " + schedule
	}
	// The parser slices up to the first space after a TZ= or CRON_TZ=
	// prefix; without one it would panic.
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return fail(errors.New("missing schedule after the time zone"))
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fail(err)
	}
	return sched, nil
}
