package manifests

import (
	"errors"
	"testing"
	"time"
)

func TestParseCronSchedule(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 3, 9, 23, 10, 0, 0, time.UTC)
	tests := []struct {
		name     string
		schedule string
		timeZone *string
		wantNext time.Time // checked when not zero
		wantErr  string
	}{
		{name: "five fields", schedule: "30 2 * * *", timeZone: ptr("UTC"),
			wantNext: time.Date(2024, 3, 10, 2, 30, 0, 0, time.UTC)},
		{name: "time zone applied", schedule: "30 2 * * *", timeZone: ptr("Europe/Paris"),
			wantNext: time.Date(2024, 3, 10, 2, 30, 0, 0, paris)},
		{name: "step and list", schedule: "*/15 9-17 * * 1,3,5", timeZone: ptr("UTC"),
			wantNext: time.Date(2024, 3, 11, 9, 0, 0, 0, time.UTC)},
		{name: "descriptor", schedule: "@daily", timeZone: ptr("UTC"),
			wantNext: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)},
		{name: "every", schedule: "@every 1h30m", wantNext: from.Add(90 * time.Minute)},
		{name: "month and weekday names", schedule: "0 0 1 JAN MON"},
		{name: "empty", schedule: "", wantErr: `invalid cron schedule "": empty spec string`},
		{name: "too few fields", schedule: "* * * *", wantErr: `invalid cron schedule "* * * *": expected exactly 5 fields, found 4: [* * * *]`},
		{name: "seconds field rejected", schedule: "0 30 2 * * *", wantErr: `invalid cron schedule "0 30 2 * * *": expected exactly 5 fields, found 6: [0 30 2 * * *]`},
		{name: "out of range", schedule: "0 24 * * *", wantErr: `invalid cron schedule "0 24 * * *": end of range (24) above maximum (23): 24`},
		{name: "unknown descriptor", schedule: "@fortnightly", wantErr: `invalid cron schedule "@fortnightly": unrecognized descriptor: @fortnightly`},
		{name: "unknown time zone", schedule: "0 0 * * *", timeZone: ptr("Mars/Olympus"),
			wantErr: `invalid cron schedule "0 0 * * *" in time zone "Mars/Olympus": unknown time zone Mars/Olympus`},
		{name: "TZ prefix without schedule does not panic", schedule: "TZ=UTC", wantErr: `invalid cron schedule "TZ=UTC": missing schedule after the time zone`},
		{name: "TZ in schedule and timeZone", schedule: "TZ=UTC 0 0 * * *", timeZone: ptr("UTC"),
			wantErr: `invalid cron schedule "TZ=UTC 0 0 * * *" in time zone "UTC": expected exactly 5 fields, found 6: [TZ=UTC 0 0 * * *]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sched, err := ParseCronSchedule(tc.schedule, tc.timeZone)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseCronSchedule(%q) succeeded, want error %q", tc.schedule, tc.wantErr)
				}
				if err.Error() != tc.wantErr {
					t.Errorf("error = %q, want %q", err.Error(), tc.wantErr)
				}
				var cerr *CronScheduleError
				if !errors.As(err, &cerr) || cerr.Schedule != tc.schedule || cerr.Err == nil || errors.Unwrap(err) != cerr.Err {
					t.Errorf("error %#v does not wrap the parser's reason as a *CronScheduleError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCronSchedule(%q): %v", tc.schedule, err)
			}
			if !tc.wantNext.IsZero() {
				if got := sched.Next(from); !got.Equal(tc.wantNext) {
					t.Errorf("Next(%v) = %v, want %v", from, got, tc.wantNext)
				}
			}
		})
	}
}

// TestCronValidationAgreesWithParser checks that every schedule CronJob
// validation accepts is one ParseCronSchedule (the scheduler's parser)
// parses with the same time zone, and vice versa for rejected ones.
func TestCronValidationAgreesWithParser(t *testing.T) {
	schedules := []string{"0 * * * *", "@weekly", "@every 5m", "61 * * * *", "* * *", "0 0 31 2 *", "@reboot"}
	zones := []*string{nil, ptr("UTC"), ptr("America/New_York")}
	for _, s := range schedules {
		for _, tz := range zones {
			cj := validCronJob()
			cj.Spec.Schedule, cj.Spec.TimeZone = s, tz
			valid := len(validateObject(cj)) == 0
			_, err := ParseCronSchedule(s, tz)
			if valid != (err == nil) {
				t.Errorf("schedule %q: validation valid=%v, parser error=%v", s, valid, err)
			}
		}
	}
}
