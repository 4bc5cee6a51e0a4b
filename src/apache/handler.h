/* The dcr-registration handler (SetHandler dcr-registration inside a <Location>). */
#ifndef DCR_AP_HANDLER_H
#define DCR_AP_HANDLER_H

/* Registers the handler hook (from the module's register_hooks). */
void dcr_ap_register_handler(void);

#endif
