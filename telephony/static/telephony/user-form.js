'use strict';
// The admin's PBX user form, as the self-service one: once a tenant is chosen, the entity box
// offers that tenant's entities only, the internal number is filled in with the chosen entity's
// next free one (unless typed over), and the external numbers suggested are the tenant's free ones.
if (window.django && window.django.jQuery) {  // pages of the PBX users without Django's jQuery: nothing to do
    const $ = django.jQuery;

    function narrowEntities(entity, tenant) {
        const element = entity.get(0);
        entity.select2('destroy');
        entity.select2({
            ajax: {
                data: (params) => ({
                    term: params.term,
                    page: params.page,
                    app_label: element.dataset.appLabel,
                    model_name: element.dataset.modelName,
                    field_name: element.dataset.fieldName,
                    tenant: tenant.val() || '',
                }),
            },
        });
    }

    function fillFreeNumbers(numbers) {
        const list = document.getElementById('id_assign_numbers-free');
        if (!list) {
            return;
        }
        list.replaceChildren(...numbers.map((number) => {
            const option = document.createElement('option');
            option.value = number;
            return option;
        }));
    }

    function start() {
        const tenant = $('#id_tenant');
        const entity = $('#id_entity');
        const number = document.getElementById('id_internal_number');
        const planUrl = tenant.attr('data-plan-url');
        if (!tenant.length || !planUrl || !$.fn.select2) {  // not the form, or a read-only one
            return;
        }
        let plan = {next_internal_numbers: {}, free_numbers: []};
        let suggested = '';

        function suggest() {
            if (!number) {
                return;
            }
            const next = plan.next_internal_numbers[entity.val()] || '';
            if (number.value === '' || number.value === suggested) {
                number.value = next;
                suggested = next;
            }
        }

        function loadPlan(clearEntity) {
            if (clearEntity && entity.length) {
                entity.val(null).trigger('change');
            }
            if (!tenant.val()) {
                plan = {next_internal_numbers: {}, free_numbers: []};
                return;
            }
            fetch(planUrl.replace("/0/", `/${encodeURIComponent(tenant.val())}/`), {
                credentials: 'same-origin',
                headers: {Accept: 'application/json'},
            })
                .then((response) => (response.ok ? response.json() : null))
                .then((loaded) => {
                    if (loaded) {
                        plan = loaded;
                        fillFreeNumbers(plan.free_numbers);
                        suggest();
                    }
                });
        }

        if (entity.length && entity.hasClass('admin-autocomplete')) {
            narrowEntities(entity, tenant);
        }
        tenant.on('change', () => loadPlan(true));
        entity.on('change', suggest);
        if (tenant.val()) {
            loadPlan(false);
        }
    }

    // after every ready handler, so after Django's autocomplete has set the boxes up
    $(() => window.setTimeout(start, 0));
}
