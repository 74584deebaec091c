/*-------------------------------------------------------------------------
 * ratebudget.h
 *		The cluster-wide rate budget: one per (API base URL, client id),
 *		shared by every backend, consulted before each API request.
 *-------------------------------------------------------------------------
 */
#ifndef MP_RATEBUDGET_H
#define MP_RATEBUDGET_H

#include "mpfdw.h"

typedef enum MpBudgetResult
{
	MP_BUDGET_GO,				/* a call slot was taken: send now */
	MP_BUDGET_WAIT,				/* queued: try again shortly */
	MP_BUDGET_TOO_LONG			/* the next slot comes after the deadline */
} MpBudgetResult;

/* request->budget_state */
#define MP_BUDGET_NONE		0
#define MP_BUDGET_QUEUED	1	/* waiting in the queue */
#define MP_BUDGET_HELD		2	/* slot taken, response not yet seen */

extern void mp_budget_init(void);	/* from _PG_init */
extern MpBudgetResult mp_budget_acquire(MpRequest *req, TimestampTz deadline,
										int64 *until);
extern void mp_budget_response(MpRequest *req);
extern void mp_budget_forget(MpRequest *req);
extern bool mp_budget_waiting(void);
extern uint32 mp_budget_wait_event(void);

#endif							/* MP_RATEBUDGET_H */
