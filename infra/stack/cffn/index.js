// Directory indexes for the site bucket (CloudFront Function, viewer
// request, cloudfront-js-2.0): /console/ serves console/index.html, and
// /console, a folder named without its slash, is redirected to /console/ so
// the page's relative URLs and the sign-in's callback stay the same.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith('/')) {
    request.uri = uri + 'index.html';
    return request;
  }
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    var query = Object.keys(request.querystring).map(function (k) {
      var v = request.querystring[k].value;
      return v === '' ? k : k + '=' + v;
    }).join('&');
    return {
      statusCode: 301,
      statusDescription: 'Moved Permanently',
      headers: { location: { value: uri + '/' + (query ? '?' + query : '') } },
    };
  }
  return request;
}
