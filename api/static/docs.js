// Start Swagger UI on /api/docs; a file of our own, so the page needs no inline script under the CSP.
window.addEventListener('load', function () {
    var root = document.getElementById('swagger-ui');
    window.ui = SwaggerUIBundle({
        url: root.getAttribute('data-spec-url'),
        dom_id: '#swagger-ui',
        deepLinking: true,
        validatorUrl: null, // the default badge would load from a third-party site
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: 'BaseLayout'
    });
});
